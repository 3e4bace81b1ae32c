/**
 * A simulated Modbus device on a real modbus-serial ServerTCP: register banks that points can be written into
 * with the suite's own encoder, plus fault injection (dead units, exceptions, slow answers).
 */
import { ServerSerial, ServerTCP } from 'modbus-serial';
import { encodePoint, PointDefinition, PointValue } from '../../nodes/core/sensor/modbus-registers';

export interface ModbusFault {
  /** unit ids that never answer (the request times out) */
  silentUnits: Set<number>;
  /** answer every register read with this exception code */
  exception?: number;
  /** delay every answer by this many ms */
  delayMs: number;
}

export class RegisterBank {
  readonly holding = new Uint16Array(65536);
  readonly input = new Uint16Array(65536);
  readonly coils = new Uint8Array(65536);
  readonly discrete = new Uint8Array(65536);
  reads = 0;

  /** Stores a point's engineering value the way a device would hold it. */
  write(point: PointDefinition, value: PointValue): void {
    if (point.area === 'coil' || point.area === 'discrete') {
      (point.area === 'coil' ? this.coils : this.discrete)[point.address] = value ? 1 : 0;
      return;
    }
    const words = encodePoint(value, point);
    const bank = point.area === 'holding' ? this.holding : this.input;
    if (point.type === 'bool' && point.bit !== undefined) {
      const mask = 1 << point.bit;
      bank[point.address] = value ? bank[point.address] | mask : bank[point.address] & ~mask;
      return;
    }
    words.forEach((w, i) => { bank[point.address + i] = w; });
  }
}

export class SimulatedModbusDevice {
  readonly banks = new Map<number, RegisterBank>();
  readonly fault: ModbusFault = { silentUnits: new Set(), delayMs: 0 };
  private server: ServerTCP | ServerSerial | undefined;
  port = 0;

  constructor(unitIds: number[] = [1]) {
    for (const id of unitIds) this.banks.set(id, new RegisterBank());
  }

  bank(unitId = 1): RegisterBank {
    const bank = this.banks.get(unitId);
    if (!bank) throw new Error(`no unit ${unitId}`);
    return bank;
  }

  private async answer<T>(unitId: number, read: (bank: RegisterBank) => T): Promise<T> {
    if (this.fault.silentUnits.has(unitId)) return new Promise<T>(() => undefined);
    const bank = this.banks.get(unitId);
    if (!bank) return new Promise<T>(() => undefined);
    if (this.fault.delayMs) await new Promise((r) => setTimeout(r, this.fault.delayMs));
    if (this.fault.exception) throw { modbusErrorCode: this.fault.exception, msg: 'injected exception' };
    bank.reads++;
    return read(bank);
  }

  /** The functions modbus-serial's servers call to answer requests. */
  private vector() {
    // modbus-serial takes multi-register reads either synchronously or with a callback (4 parameters);
    // the callback form lets a read be delayed or never answered.
    type Callback = (err: Error | null, values: number[]) => void;
    const words = (which: 'holding' | 'input') => (addr: number, length: number, unitId: number, cb: Callback) => {
      this.answer(unitId, (b) => Array.from(b[which].subarray(addr, addr + length))).then((v) => cb(null, v), (e) => cb(e, []));
    };
    return {
      getCoil: (addr: number, unitId: number) => this.answer(unitId, (b) => b.coils[addr] === 1),
      getDiscreteInput: (addr: number, unitId: number) => this.answer(unitId, (b) => b.discrete[addr] === 1),
      getHoldingRegister: (addr: number, unitId: number) => this.answer(unitId, (b) => b.holding[addr]),
      getInputRegister: (addr: number, unitId: number) => this.answer(unitId, (b) => b.input[addr]),
      getMultipleHoldingRegisters: words('holding'),
      getMultipleInputRegisters: words('input'),
      setRegister: (addr: number, value: number, unitId: number) => { this.bank(unitId).holding[addr] = value; },
      setCoil: (addr: number, value: boolean, unitId: number) => { this.bank(unitId).coils[addr] = value ? 1 : 0; },
    };
  }

  private async listen(server: ServerTCP | ServerSerial): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.on('initialized', () => resolve());
      server.on('error', reject);
    });
    server.on('socketError', () => undefined);
    server.on('error', () => undefined);
    this.server = server;
  }

  /** Serves Modbus TCP on host:port. */
  async start(port: number, host = '127.0.0.1'): Promise<void> {
    await this.listen(new ServerTCP(this.vector(), { host, port, unitID: 255 }));
    this.port = port;
  }

  /** Serves Modbus RTU on a serial device (for tests: one end of a socat pty pair). */
  async startSerial(path: string, baudRate = 9600): Promise<void> {
    await this.listen(new ServerSerial(this.vector(), { path, baudRate, unitID: 255 } as never));
  }

  /** Stops listening and drops every client connection (a device switched off). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const socket of server.socks.keys()) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

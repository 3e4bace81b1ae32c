/**
 * One Modbus TCP or RTU connection shared by every node that polls the same device or serial line.
 *
 * - An explicit state machine: idle -> connecting -> connected -> (lost) -> waiting -> connecting ... -> closed.
 * - One serialized request queue: Modbus masters must not interleave requests on one line, and many gateways
 *   (and every RTU bus) answer only one request at a time.
 * - Reconnect with exponential backoff and jitter, driven only here (never by the polling nodes), so a dead device
 *   costs one connection attempt per backoff step however many nodes poll it.
 * - Per-unit health: a unit that keeps timing out is suspended for a growing interval, so one dead unit on a
 *   shared RTU line does not eat the line time of the healthy ones.
 */
import { EventEmitter } from 'node:events';
import ModbusRTU from 'modbus-serial';
import { BackoffOptions } from './backoff';
import { errorText } from '../shared/errors';
import { SharedConnection } from './shared-connection';


export type ModbusTransport =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'rtu'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

export interface ModbusConnectionOptions {
  transport: ModbusTransport;
  /** default response timeout, ms */
  timeoutMs: number;
  /** response timeouts for particular unit ids (slow devices behind a gateway) */
  unitTimeoutsMs?: Record<number, number>;
  /** consecutive timeouts after which a unit is suspended */
  suspendAfter?: number;
  /** consecutive timeouts of any unit after which the connection is considered dead and re-opened */
  reconnectAfterTimeouts?: number;
  /** pause after a timeout on a serial line, so a late reply is not taken for the next request's */
  serialTurnaroundMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** for tests */
  now?: () => number;
}

/** The four data areas of the Modbus protocol: single bits (coils, discrete inputs) and 16-bit registers. */
export type ModbusArea = 'coil' | 'discrete' | 'holding' | 'input';

export type ModbusErrorKind = 'timeout' | 'exception' | 'disconnected' | 'suspended' | 'io' | 'closed';

export class ModbusError extends Error {
  constructor(readonly kind: ModbusErrorKind, message: string, readonly code?: number) {
    super(message);
    this.name = 'ModbusError';
  }
}

/** Exception codes of the Modbus application protocol, in words. */
export const EXCEPTION_TEXT: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

interface Job {
  unitId: number;
  area: ModbusArea;
  address: number;
  count: number;
  resolve: (data: number[] | boolean[]) => void;
  reject: (err: ModbusError) => void;
}

interface UnitHealth {
  timeouts: number;
  suspendedUntil: number;
}

export function describeTransport(t: ModbusTransport): string {
  return t.kind === 'tcp' ? `${t.host}:${t.port}` : `${t.path} @${t.baudRate}`;
}

export class ModbusConnection extends SharedConnection {
  private client: ModbusRTU | undefined;
  private readonly queue: Job[] = [];
  private running = false;
  /** fails the request on the wire when the link goes (modbus-serial itself never settles it then) */
  private abortInFlight: ((err: ModbusError) => void) | undefined;
  private readonly units = new Map<number, UnitHealth>();
  private consecutiveTimeouts = 0;
  private readonly now: () => number;
  /** counters for status and tests */
  readonly stats = { requests: 0, timeouts: 0, exceptions: 0, connects: 0, connectFailures: 0 };

  constructor(readonly options: ModbusConnectionOptions) {
    super({ initialMs: 500, maxMs: 30_000, jitter: 0.3, ...options.backoff });
    this.now = options.now ?? Date.now;
  }

  get description(): string {
    return describeTransport(this.options.transport);
  }

  /** Queues one read; resolves with register words or bits (exactly `count` of them). */
  read(unitId: number, area: ModbusArea, address: number, count: number): Promise<number[] | boolean[]> {
    if (this._state === 'closed') return Promise.reject(new ModbusError('closed', 'connection closed'));
    // opening (a gateway booting, a deploy): the request waits for the link, within its response timeout, rather
    // than failing as a bad reading; a link known to be down (waiting to retry) fails at once
    if (this._state === 'connecting' || this._state === 'idle') return this.queueUntilConnected(unitId, area, address, count);
    if (this._state !== 'connected') {
      return Promise.reject(new ModbusError('disconnected', `not connected to ${this.description}`));
    }
    const health = this.units.get(unitId);
    if (health && health.suspendedUntil > this.now()) {
      const seconds = Math.ceil((health.suspendedUntil - this.now()) / 1000);
      return Promise.reject(new ModbusError('suspended', `unit ${unitId} not responding, retry in ${seconds} s`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ unitId, area, address, count, resolve, reject });
      void this.drain();
    });
  }

  private queueUntilConnected(unitId: number, area: ModbusArea, address: number, count: number): Promise<number[] | boolean[]> {
    return new Promise((resolve, reject) => {
      const job: Job = {
        unitId, area, address, count,
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        const at = this.queue.indexOf(job);
        if (at < 0) return; // already on the wire: its own response timeout decides
        this.queue.splice(at, 1);
        reject(new ModbusError('disconnected', `not connected to ${this.description} yet (still connecting)`));
      }, this.timeoutFor(unitId));
      this.queue.push(job);
    });
  }

  get queueLength(): number {
    return this.queue.length;
  }

  protected open(): void {
    void this.connect();
  }

  protected reconnect(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped && this._state !== 'idle') return;
    this.setState('connecting');
    const client = new ModbusRTU();
    this.client = client;
    const t = this.options.transport;
    try {
      const opening = t.kind === 'tcp'
        ? client.connectTCP(t.host, { port: t.port, timeout: this.options.timeoutMs })
        : client.connectRTUBuffered(t.path, { baudRate: t.baudRate, parity: t.parity, dataBits: t.dataBits, stopBits: t.stopBits });
      // modbus-serial may never settle an attempt that is closed while it runs: bound it
      await withTimeout(opening, Math.max(5000, this.options.timeoutMs * 2), `no answer from ${this.description}`);
    } catch (err) {
      this.stats.connectFailures++;
      this.release(client);
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      // requests that waited for this attempt learn now that it failed
      this.failPending(new ModbusError('disconnected', `cannot connect to ${this.description}: ${errorText(err)}`));
      this.scheduleReconnect(errorText(err));
      return;
    }
    if (this.client !== client || this.stopped) {
      this.release(client);
      return;
    }
    events(client).on('close', () => this.lost(client, 'connection closed by device'));
    events(client).on('error', (err: unknown) => this.lost(client, errorText(err)));
    this.stats.connects++;
    this.consecutiveTimeouts = 0;
    this.linkUp();
    void this.drain();
  }

  private lost(client: ModbusRTU, reason: string): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.release(client);
    this.failPending(new ModbusError('disconnected', `connection lost: ${reason}`));
    this.scheduleReconnect(reason);
  }

  /** Fails the request on the wire and everything queued behind it. */
  private failPending(err: ModbusError): void {
    this.abortInFlight?.(err);
    for (const job of this.queue.splice(0)) job.reject(err);
  }

  private timeoutFor(unitId: number): number {
    return this.options.unitTimeoutsMs?.[unitId] ?? this.options.timeoutMs;
  }

  /** Runs queued jobs one at a time. */
  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0 && this._state === 'connected' && this.client) {
        const job = this.queue.shift()!;
        const health = this.units.get(job.unitId);
        if (health && health.suspendedUntil > this.now()) {
          job.reject(new ModbusError('suspended', `unit ${job.unitId} not responding`));
          continue;
        }
        await this.execute(this.client, job);
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(client: ModbusRTU, job: Job): Promise<void> {
    this.stats.requests++;
    client.setID(job.unitId);
    client.setTimeout(this.timeoutFor(job.unitId));
    const request = this.request(client, job);
    request.catch(() => undefined); // settled by the race below, or abandoned when the link goes
    const aborted = new Promise<never>((_, reject) => { this.abortInFlight = reject; });
    try {
      const result = await Promise.race([request, aborted]);
      this.consecutiveTimeouts = 0;
      this.units.delete(job.unitId);
      job.resolve(result.slice(0, job.count) as number[] | boolean[]);
    } catch (err) {
      const error = err instanceof ModbusError ? err : this.classify(err);
      if (error.kind === 'timeout') await this.onTimeout(job.unitId);
      else if (error.kind === 'exception') this.units.delete(job.unitId);
      job.reject(error);
      if (error.kind === 'disconnected') this.lost(client, error.message);
    } finally {
      this.abortInFlight = undefined;
    }
  }

  private async request(client: ModbusRTU, job: Job): Promise<Array<number | boolean>> {
    switch (job.area) {
      case 'coil': return (await client.readCoils(job.address, job.count)).data;
      case 'discrete': return (await client.readDiscreteInputs(job.address, job.count)).data;
      case 'holding': return (await client.readHoldingRegisters(job.address, job.count)).data;
      case 'input': return (await client.readInputRegisters(job.address, job.count)).data;
    }
  }

  private async onTimeout(unitId: number): Promise<void> {
    this.stats.timeouts++;
    this.consecutiveTimeouts++;
    const health = this.units.get(unitId) ?? { timeouts: 0, suspendedUntil: 0 };
    health.timeouts++;
    const suspendAfter = this.options.suspendAfter ?? 3;
    if (health.timeouts >= suspendAfter) {
      const steps = health.timeouts - suspendAfter;
      health.suspendedUntil = this.now() + Math.min(60_000, 1000 * Math.pow(2, Math.min(steps, 6)));
    }
    this.units.set(unitId, health);
    if (this.options.transport.kind === 'rtu') {
      await new Promise((r) => setTimeout(r, this.options.serialTurnaroundMs ?? 50));
    }
    const limit = this.options.reconnectAfterTimeouts ?? 0;
    if (limit > 0 && this.consecutiveTimeouts >= limit && this.client) {
      this.lost(this.client, `${this.consecutiveTimeouts} requests in a row timed out`);
    }
  }

  private classify(err: unknown): ModbusError {
    const e = err as { name?: string; message?: string; modbusCode?: number; errno?: string; code?: string };
    if (typeof e?.modbusCode === 'number') {
      this.stats.exceptions++;
      const text = EXCEPTION_TEXT[e.modbusCode] ?? 'unknown exception';
      return new ModbusError('exception', `Modbus exception ${e.modbusCode}: ${text}`, e.modbusCode);
    }
    if (e?.name === 'TransactionTimedOutError' || e?.errno === 'ETIMEDOUT' || e?.code === 'ETIMEDOUT') {
      return new ModbusError('timeout', 'no response (timeout)');
    }
    if (e?.name === 'PortNotOpenError') return new ModbusError('disconnected', 'port not open');
    return new ModbusError('io', errorText(err));
  }

  /**
   * Lets a client go. A TCP socket is destroyed; a serial port must be closed (modbus-serial's destroy leaves it
   * open and locked, and the next attempt could not open it).
   */
  private release(client: ModbusRTU): Promise<void> {
    silence(client);
    return new Promise<void>((resolve) => {
      const done = () => resolve();
      try {
        if (this.options.transport.kind === 'rtu') client.close(done);
        else client.destroy(done);
      } catch {
        resolve();
      }
      // a port that never answers close must not hang a redeploy
      setTimeout(done, 1000).unref();
    });
  }

  protected async shutdown(): Promise<void> {
    const stopping = new ModbusError(this._state === 'closed' ? 'closed' : 'disconnected', 'connection closed');
    this.failPending(stopping);
    const client = this.client;
    this.client = undefined;
    this.units.clear();
    if (client) await this.release(client);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(message)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** modbus-serial's client is an EventEmitter, which its typings do not say. */
function events(client: ModbusRTU): EventEmitter {
  return client as unknown as EventEmitter;
}

/** Drops our listeners; a late error event from the socket must not become an unhandled 'error'. */
function silence(client: ModbusRTU): void {
  events(client).removeAllListeners();
  events(client).on('error', () => undefined);
}

export { parseUnitTimeouts, validateModbusOptions } from './modbus-rules';

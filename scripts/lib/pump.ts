/**
 * The demo's pump: a Modbus TCP device whose registers follow a simulated physical process with noise, wandering
 * and recurring faults (a bearing episode: vibration and temperature rise; pressure dips; a stuck sensor).
 */
import { PointDefinition } from '../../nodes/core/sensor/modbus-registers';
import { AnomalySpec, ChannelSpec, Simulator } from '../../nodes/core/sensor/simulator';
import { SimulatedModbusDevice } from './modbus-device';

/** The pump's register map, as a user would type it into edge-sensor. */
export const PUMP_POINTS: PointDefinition[] = [
  { name: 'vibration', area: 'holding', address: 0, type: 'float32', unit: 'mm/s' },
  { name: 'temperature', area: 'holding', address: 2, type: 'float32', unit: '°C' },
  { name: 'pressure', area: 'holding', address: 4, type: 'float32', unit: 'bar' },
  { name: 'speed', area: 'holding', address: 6, type: 'float32', unit: 'rpm' },
  { name: 'vibration_x100', area: 'input', address: 0, type: 'uint16', scale: 0.01, unit: 'mm/s' },
  { name: 'temperature_x10', area: 'input', address: 1, type: 'int16', scale: 0.1, unit: '°C' },
  { name: 'pressure_x100', area: 'input', address: 2, type: 'uint16', scale: 0.01, unit: 'bar' },
  { name: 'speed_rpm', area: 'input', address: 3, type: 'uint16', unit: 'rpm' },
  { name: 'running', area: 'coil', address: 0, type: 'bool' },
  { name: 'fault', area: 'discrete', address: 0, type: 'bool' },
];

// Stationary in normal operation: no linear drift (a drifting sensor is a fault the drift tests inject), and the
// random walks wander about as far as before (sd 0.45 mm/s and 0.11 bar) but on a time scale of 10 s, not 100 s
// (README, "Monitoring models at the edge", says what a slower wander does to the drift figures)
export const PUMP_CHANNELS: ChannelSpec[] = [
  { name: 'vibration', waveform: 'random-walk', base: 2.2, amplitude: 0.063, periodS: 0, noise: 0.08, drift: 0, decimals: 4, pull: 0.01 },
  { name: 'temperature', waveform: 'sine', base: 61, amplitude: 1.5, periodS: 900, noise: 0.15, drift: 0, decimals: 3 },
  { name: 'pressure', waveform: 'random-walk', base: 4.2, amplitude: 0.016, periodS: 0, noise: 0.03, drift: 0, decimals: 4, pull: 0.01 },
  { name: 'speed', waveform: 'sine', base: 1480, amplitude: 6, periodS: 120, noise: 2, drift: 0, decimals: 1 },
];

/** Every 5 minutes a bearing episode (the first after 2 minutes); every 7 minutes a pressure spike; every 11 minutes the speed sensor sticks. */
export const PUMP_FAULTS: AnomalySpec[] = [
  { channel: 'vibration', kind: 'step', atS: 120, durationS: 45, magnitude: 5.5, everyS: 300 },
  { channel: 'temperature', kind: 'step', atS: 130, durationS: 60, magnitude: 9, everyS: 300 },
  { channel: 'pressure', kind: 'spike', atS: 200, durationS: 0, magnitude: -1.6, everyS: 420 },
  { channel: 'speed', kind: 'stuck', atS: 400, durationS: 30, magnitude: 0, everyS: 660 },
];

const BEARING = PUMP_FAULTS[0];

export class PumpDevice {
  readonly device = new SimulatedModbusDevice([1]);
  private readonly simulator: Simulator;
  private timer: NodeJS.Timeout | undefined;
  /** the process's time zero: before the start when the first bearing episode is to come sooner */
  private originMs = Date.now();

  /** @param firstFaultS seconds from the start to the first bearing episode (120, the schedule's own, at most) */
  constructor(seed = 7, readonly updateMs = 100, readonly firstFaultS = BEARING.atS) {
    this.simulator = new Simulator(PUMP_CHANNELS, PUMP_FAULTS, seed);
  }

  /** Writes one sample of the process into the registers. */
  update(now = Date.now()): Record<string, number> {
    const v = this.simulator.sample(now);
    const bank = this.device.bank(1);
    const t = (now - this.originMs) / 1000;
    const inBearingFault = t >= BEARING.atS && (t - BEARING.atS) % BEARING.everyS! < BEARING.durationS;
    const values: Record<string, number | boolean> = {
      vibration: v.vibration, temperature: v.temperature, pressure: v.pressure, speed: v.speed,
      vibration_x100: v.vibration, temperature_x10: v.temperature, pressure_x100: v.pressure, speed_rpm: v.speed,
      running: true, fault: inBearingFault,
    };
    for (const p of PUMP_POINTS) bank.write(p, values[p.name]);
    return v;
  }

  async start(port: number, host = '127.0.0.1'): Promise<void> {
    // sooner only: the schedule cannot start before the process does
    this.originMs = Date.now() - Math.max(0, BEARING.atS - this.firstFaultS) * 1000;
    // the simulator's clock starts at its first sample: the origin, so both agree on when faults come
    this.simulator.sample(this.originMs);
    this.update();
    await this.device.start(port, host);
    this.timer = setInterval(() => this.update(), this.updateMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.device.stop();
  }
}

/**
 * Labelled training data for the demo pump's models: the pump's own simulated process (same channels, noise and
 * wandering as the demo device) cut into windows of 20 samples at 0.5 s, the window the demo flow aggregates, with
 * faults injected into some windows. Each window becomes the feature vector edge-aggregate emits:
 * mean and stddev (population) of each channel, channel-major.
 */
import { AnomalySpec, ChannelSpec, seededRandom, Simulator } from '../../nodes/core/sensor/simulator';
import { PUMP_CHANNELS, PUMP_FAULTS } from './pump';

export const FEATURE_CHANNELS = ['vibration', 'temperature', 'pressure', 'speed'];
export const FEATURE_STATS = ['mean', 'stddev'];
export const PUMP_FEATURES = FEATURE_CHANNELS.flatMap((c) => FEATURE_STATS.map((s) => `${c}.${s}`));
export const PUMP_CLASSES = ['normal', 'bearing', 'cavitation', 'stuck-sensor'];
export const WINDOW_SAMPLES = 20;
export const SAMPLE_MS = 500;
/** the demo device moves its process every 100 ms; a poll sees every fifth state */
export const PROCESS_MS = 100;

export interface Dataset {
  x: number[][];
  /** class index into PUMP_CLASSES */
  y: number[];
}

function features(window: Record<string, number[]>): number[] {
  return FEATURE_CHANNELS.flatMap((c) => {
    const v = window[c];
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / v.length;
    return [mean, Math.sqrt(variance)];
  });
}

/**
 * `count` windows from `hours` of simulated operation; `faultShare` of them carry one fault, chosen evenly
 * among the fault classes. The faults follow the demo device: a bearing episode raises vibration (+5.5 mm/s)
 * and temperature (+9 °C), partly developed; cavitation knocks one pressure sample down by about 1.6 bar;
 * a stuck speed sensor repeats one value.
 */
export function pumpWindows(seed: number, count: number, faultShare: number, hours = 8): Dataset {
  const sim = new Simulator(PUMP_CHANNELS, [], seed);
  const random = seededRandom(seed * 7919 + 1);
  const spanMs = hours * 3600_000;
  const strideMs = Math.max(WINDOW_SAMPLES * SAMPLE_MS, Math.floor(spanMs / count));
  const x: number[][] = [];
  const y: number[] = [];
  let t = 0;
  for (let w = 0; w < count; w++) {
    const window: Record<string, number[]> = Object.fromEntries(FEATURE_CHANNELS.map((c) => [c, []]));
    // the random walks need every sample in order; only the window's last 20 are kept
    const start = t + strideMs - WINDOW_SAMPLES * SAMPLE_MS;
    for (; t < start; t += PROCESS_MS) sim.sample(t);
    for (let i = 0; i < WINDOW_SAMPLES; i++) {
      let s = sim.sample(t);
      for (let k = 1; k < SAMPLE_MS / PROCESS_MS; k++) s = sim.sample((t += PROCESS_MS));
      t += PROCESS_MS;
      for (const c of FEATURE_CHANNELS) window[c].push(s[c]);
    }
    let label = 0;
    if (random() < faultShare) {
      label = 1 + Math.floor(random() * (PUMP_CLASSES.length - 1));
      const severity = 0.03 + 0.97 * random(); // from barely visible to fully developed
      if (label === 1) {
        window.vibration = window.vibration.map((v) => v + 5.5 * severity);
        window.temperature = window.temperature.map((v) => v + 9 * severity);
      } else if (label === 2) {
        const at = Math.floor(random() * WINDOW_SAMPLES);
        window.pressure[at] -= 1.6 * (0.6 + 0.4 * severity);
      } else {
        window.speed = window.speed.map(() => window.speed[0]);
      }
    }
    x.push(features(window));
    y.push(label);
  }
  return { x, y };
}

/** the demo flow's feature window moves on by 10 readings (a vector every 5 s) */
export const WINDOW_HOP = 10;

export interface Operation {
  channels?: ChannelSpec[];
  faults?: AnomalySpec[];
  /** changes a sample at simulated time t (ms): a recalibration, a sensor going wrong */
  alter?: (sample: Record<string, number>, tMs: number) => void;
}

/**
 * The feature vectors the demo flow gives its models over `hours` of the pump as it runs: its fault schedule
 * included, a reading every 0.5 s, windows of 20 readings moving on by 10. The reference the models' drift is
 * measured against, and the live stream the drift tests replay.
 */
export function pumpOperation(seed: number, hours: number, o: Operation = {}): number[][] {
  const sim = new Simulator(o.channels ?? PUMP_CHANNELS, o.faults ?? PUMP_FAULTS, seed);
  const recent: Record<string, number[]> = Object.fromEntries(FEATURE_CHANNELS.map((c) => [c, []]));
  const out: number[][] = [];
  let readings = 0;
  for (let t = 0; t < hours * 3600_000; t += PROCESS_MS) {
    const s = sim.sample(t);
    if (t % SAMPLE_MS !== 0) continue;
    o.alter?.(s, t);
    for (const c of FEATURE_CHANNELS) {
      recent[c].push(s[c]);
      if (recent[c].length > WINDOW_SAMPLES) recent[c].shift();
    }
    if (++readings >= WINDOW_SAMPLES && (readings - WINDOW_SAMPLES) % WINDOW_HOP === 0) out.push(features(recent));
  }
  return out;
}

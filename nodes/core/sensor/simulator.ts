/**
 * A seeded signal simulator, so flows can be built and tested with no hardware: named channels with a waveform,
 * noise, slow drift and scheduled anomalies. The same seed and the same sample times give the same values.
 */
import type { Problem } from '../shared/fields';

export type Waveform = 'sine' | 'random-walk' | 'constant';
export type AnomalyKind = 'spike' | 'step' | 'stuck';

export interface ChannelSpec {
  name: string;
  waveform: Waveform;
  /** centre value */
  base: number;
  /** sine: amplitude; random walk: standard deviation of one step */
  amplitude: number;
  /** sine period, seconds */
  periodS: number;
  /** standard deviation of white noise added to every sample */
  noise: number;
  /** linear drift, units per hour */
  drift: number;
  /** decimals kept in the output (-1 = full precision) */
  decimals?: number;
  /** random walk: the share of the walk pulled back to the base at each sample (0.001 unless set) */
  pull?: number;
}

export interface AnomalySpec {
  channel: string;
  kind: AnomalyKind;
  /** seconds after the start of the simulation */
  atS: number;
  /** how long it lasts, seconds (0 = one sample for a spike, for good for a step or stuck value) */
  durationS: number;
  /** size of a spike or step; ignored by stuck */
  magnitude: number;
  /** repeat every N seconds (0 = once) */
  everyS?: number;
}

export const WAVEFORMS: readonly Waveform[] = ['sine', 'random-walk', 'constant'];
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['spike', 'step', 'stuck'];

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller) from a uniform source. */
export function gaussian(random: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = random();
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** Validates channels and anomalies; problems as message keys, each naming its channel or anomaly. */
export function validateChannels(channels: Partial<ChannelSpec>[], anomalies: Partial<AnomalySpec>[] = []): Problem[] {
  const problems: Problem[] = [];
  if (!Array.isArray(channels) || channels.length === 0) return [{ key: 'noChannels' }];
  const names = new Set<string>();
  channels.forEach((c, i) => {
    const add = (key: string, vars: Record<string, unknown> = {}) => problems.push(c.name
      ? { key: 'inChannel', vars: { n: i + 1, name: c.name, problem: { key, vars } } }
      : { key: 'inChannelN', vars: { n: i + 1, problem: { key, vars } } });
    if (!c.name) add('channelName');
    else if (names.has(c.name)) add('channelTwice');
    else names.add(c.name);
    if (!c.waveform || !WAVEFORMS.includes(c.waveform)) add('waveform', { waveforms: WAVEFORMS.join(', ') });
    for (const field of ['base', 'amplitude', 'noise', 'drift'] as const) {
      if (!Number.isFinite(c[field])) add('channelNumber', { field });
    }
    if (c.waveform === 'sine' && !(Number(c.periodS) > 0)) add('sinePeriod');
    if (Number(c.noise) < 0) add('noise');
    if (c.decimals !== undefined && !(Number.isInteger(c.decimals) && c.decimals >= -1 && c.decimals <= 15)) add('decimals');
  });
  anomalies.forEach((a, i) => {
    const add = (key: string, vars: Record<string, unknown> = {}) => problems.push({ key: 'inAnomaly', vars: { n: i + 1, problem: { key, vars } } });
    if (!a.channel || !names.has(a.channel)) add('anomalyChannel', { channel: String(a.channel ?? '').slice(0, 64) });
    if (!a.kind || !ANOMALY_KINDS.includes(a.kind)) add('anomalyKind', { kinds: ANOMALY_KINDS.join(', ') });
    if (!(Number(a.atS) >= 0)) add('anomalyStart');
    if (!(Number(a.durationS) >= 0)) add('anomalyDuration');
    if (a.kind !== 'stuck' && !Number.isFinite(a.magnitude)) add('anomalyMagnitude');
    if (a.everyS !== undefined && a.everyS !== 0 && !(a.everyS > (a.durationS ?? 0))) add('anomalyRepeat');
  });
  return problems;
}

interface ChannelState {
  walk: number;
  lastClean: number;
  stuckValue: number | undefined;
}

export class Simulator {
  private readonly normal: () => number;
  private readonly state = new Map<string, ChannelState>();
  /** per one-sample spike: the occurrence that has already hit a sample */
  private readonly spikesDone = new Map<AnomalySpec, number>();
  private startMs: number | undefined;

  constructor(
    readonly channels: ChannelSpec[],
    readonly anomalies: AnomalySpec[] = [],
    readonly seed = 1,
  ) {
    this.normal = gaussian(seededRandom(seed));
    for (const c of channels) this.state.set(c.name, { walk: 0, lastClean: c.base, stuckValue: undefined });
  }

  /** Which occurrence of an anomaly is active at elapsed seconds t, or -1. */
  private occurrence(a: AnomalySpec, t: number): number {
    if (t < a.atS) return -1;
    const k = a.everyS ? Math.floor((t - a.atS) / a.everyS) : 0;
    const start = a.atS + k * (a.everyS ?? 0);
    const within = t - start;
    // duration 0: a spike hits one sample (deduplicated by the caller); a step or stuck value stays for good
    if (a.durationS === 0) return k;
    return within < a.durationS ? k : -1;
  }

  /** One sample of every channel at time tMs (call with non-decreasing times). */
  sample(tMs: number): Record<string, number> {
    if (this.startMs === undefined) this.startMs = tMs;
    const t = (tMs - this.startMs) / 1000;
    const out: Record<string, number> = {};
    for (const c of this.channels) {
      const s = this.state.get(c.name)!;
      let clean: number;
      switch (c.waveform) {
        case 'sine':
          clean = c.base + c.amplitude * Math.sin((2 * Math.PI * t) / c.periodS);
          break;
        case 'random-walk':
          s.walk += c.amplitude * this.normal();
          // a pull back to the base keeps a long walk from wandering off for good
          s.walk *= 1 - (c.pull ?? 0.001);
          clean = c.base + s.walk;
          break;
        case 'constant':
          clean = c.base;
          break;
      }
      clean += (c.drift * t) / 3600;
      let value = clean + (c.noise > 0 ? c.noise * this.normal() : 0);
      let stuck = false;
      for (const a of this.anomalies) {
        if (a.channel !== c.name) continue;
        const k = this.occurrence(a, t);
        if (a.kind === 'step' && k >= 0) value += a.magnitude;
        if (a.kind === 'spike' && k >= 0 && this.spikesDone.get(a) !== k) {
          value += a.magnitude;
          if (a.durationS === 0) this.spikesDone.set(a, k);
        }
        if (a.kind === 'stuck' && k >= 0) {
          stuck = true;
          if (s.stuckValue === undefined) s.stuckValue = s.lastClean;
          value = s.stuckValue;
        }
      }
      if (!stuck) {
        s.stuckValue = undefined;
        s.lastClean = value;
      }
      const d = c.decimals ?? 3;
      out[c.name] = d >= 0 ? Number(value.toFixed(d)) : value;
    }
    return out;
  }
}

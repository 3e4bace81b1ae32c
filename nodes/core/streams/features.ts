/**
 * Feature vectors for ML from a window: a fixed-length numeric array in a fixed, documented order, ready for
 * edge-infer. From the window's statistics, its raw samples, or the samples resampled to N evenly spaced points.
 */
import { WindowResult } from './windowing';
import { StatisticKey } from './window-stats';

export type FeatureSource = 'stats' | 'raw' | 'resample';
/** channel-major: all features of the first channel, then the next; feature-major: feature 1 of every channel, ... */
export type FeatureLayout = 'channel-major' | 'feature-major';

export interface FeatureOptions {
  source: FeatureSource;
  /** raw / resample: points per channel */
  points: number;
  layout: FeatureLayout;
  /** channel order; default: the fields in first-seen order */
  channels?: string[];
}

export interface FeatureVector {
  vector: number[];
  /** what each element is, e.g. "vibration.mean", "temperature[3]" */
  names: string[];
}

/** Linear interpolation of (times, values) at n evenly spaced times from the first to the last sample. */
export function resample(times: number[], values: number[], n: number): number[] {
  if (values.length === 0) return [];
  if (values.length === 1 || n === 1) return new Array(n).fill(values[values.length - 1]);
  const t0 = times[0];
  const t1 = times[times.length - 1];
  const out = new Array<number>(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    const t = t0 + ((t1 - t0) * i) / (n - 1);
    while (j < times.length - 2 && times[j + 1] < t) j++;
    const span = times[j + 1] - times[j];
    const f = span > 0 ? Math.min(1, Math.max(0, (t - times[j]) / span)) : 1;
    out[i] = values[j] + f * (values[j + 1] - values[j]);
  }
  return out;
}

export function featureVector(result: WindowResult, statistics: StatisticKey[], o: FeatureOptions): FeatureVector {
  const channels = o.channels && o.channels.length ? o.channels : result.fields;
  const label = (channel: string, feature: string) => (result.scalar ? feature : `${channel}.${feature}`);
  // per channel: its features with names
  const perChannel: Array<Array<[string, number]>> = channels.map((channel) => {
    if (o.source === 'stats') {
      const stats = (result.scalar ? result.stats : (result.stats as Record<string, Record<string, number | null>>)[channel]) as
        Record<string, number | null> | undefined;
      if (!stats) throw new Error(`the window has no channel "${channel}"`);
      return statistics.map((s) => {
        const v = stats[s];
        if (v === null || v === undefined || !Number.isFinite(v)) {
          throw new Error(`feature ${label(channel, s)} is undefined for this window (${result.count} sample(s))`);
        }
        return [label(channel, s), v] as [string, number];
      });
    }
    const samples = result.samples(result.scalar ? '' : channel);
    if (!samples || samples.values.length === 0) throw new Error(`the window has no samples of "${channel}"`);
    let values: number[];
    if (o.source === 'raw') {
      if (samples.values.length < o.points) {
        throw new Error(`channel "${channel}" has ${samples.values.length} sample(s); the feature vector needs ${o.points}`);
      }
      values = samples.values.slice(samples.values.length - o.points);
    } else {
      values = resample(samples.times, samples.values, o.points);
    }
    return values.map((v, i) => [`${result.scalar ? '' : channel}[${i}]`, v] as [string, number]);
  });
  const pairs: Array<[string, number]> = [];
  if (o.layout === 'channel-major') for (const list of perChannel) pairs.push(...list);
  else for (let i = 0; i < (perChannel[0]?.length ?? 0); i++) for (const list of perChannel) pairs.push(list[i]);
  return { vector: pairs.map((p) => p[1]), names: pairs.map((p) => p[0]) };
}

/**
 * edge-aggregate's settings from the editor's fields (strings): the window, the statistics or the feature vector,
 * the stream key and the bounds, and every problem named by a message key, reported at deploy in the user's words.
 */
import { FeatureLayout, FeatureOptions, FeatureSource } from './features';
import { StatisticKey, validateStatistics } from './window-stats';
import { validateWindow, WindowKind, WindowOptions } from './windowing';
import { pick, Problem, toInt, toNumber } from '../shared/fields';
import { pathProblem } from '../shared/message';
import type { ExceptionMode, ExceptionOptions } from './report-by-exception';

export interface AggregateDefinition {
  key?: string;
  window?: string;
  size?: string;
  hop?: string;
  align?: string;
  time?: string;
  lateness?: string;
  partial?: string;
  statistics?: string;
  output?: string;
  featureSource?: string;
  points?: string;
  layout?: string;
  channels?: string;
  maxStreams?: string;
  maxSamples?: string;
  maxFields?: string;
  precision?: string;
  exception?: string;
  exceptionBand?: string;
  exceptionHeartbeat?: string;
}

export interface AggregateSettings {
  windows: WindowOptions;
  key: string;
  /** set when the output is a feature vector */
  features?: FeatureOptions;
  /** a stream's window still open on redeploy: sent (partial) or dropped */
  partial: 'flush' | 'drop';
  maxStreams: number;
  /** significant digits of the statistics sent (0 = all) */
  precision: number;
  /** statistics sent only when a field's mean changed beyond the deadband, or at the heartbeat */
  exception: ExceptionOptions;
  problems: Problem[];
}

const KINDS: readonly WindowKind[] = ['count', 'tumbling', 'hopping', 'sliding'];

export function aggregateSettings(def: AggregateDefinition): AggregateSettings {
  const kind = def.window ? (def.window as WindowKind) : 'tumbling';
  const seconds = (v: string | undefined, fallback: number) => toNumber(v, fallback) * 1000;
  const statistics = String(def.statistics || 'count,mean,min,max').split(/[,\s]+/).filter(Boolean) as StatisticKey[];
  const windows: WindowOptions = {
    kind,
    size: kind === 'count' ? toNumber(def.size, 10) : seconds(def.size, 10),
    hop: kind === 'count' ? (String(def.hop ?? '').trim() ? toNumber(def.hop, NaN) : undefined)
      : kind === 'hopping' ? seconds(def.hop, NaN) : undefined,
    align: def.align === 'first' ? 'first' : 'clock',
    // count windows need no clock: they take msg.ts when a message has one (for slope and rate)
    time: def.time === 'event' && kind !== 'count' ? 'event' : 'processing',
    lateness: seconds(def.lateness, 0),
    statistics,
    maxSamples: toInt(def.maxSamples, 100_000),
    maxFields: toInt(def.maxFields, 1000),
  };
  const problems: Problem[] = KINDS.includes(kind) ? [...validateWindow(windows), ...validateStatistics(statistics)] : [{ key: 'windowKind' }];
  let features: FeatureOptions | undefined;
  if (def.output === 'features') {
    features = {
      source: pick<FeatureSource>(def.featureSource, ['stats', 'raw', 'resample'], 'stats'),
      points: toInt(def.points, 0),
      layout: pick<FeatureLayout>(def.layout, ['channel-major', 'feature-major'], 'channel-major'),
      channels: String(def.channels ?? '').split(/[,\s]+/).filter(Boolean),
    };
    if (features.source !== 'stats' && !(features.points >= 1 && features.points <= 100_000)) problems.push({ key: 'points' });
    windows.samples = features.source !== 'stats';
  }
  const maxStreams = toInt(def.maxStreams, 1000);
  if (!(maxStreams >= 1)) problems.push({ key: 'maxStreams' });
  const precision = toInt(def.precision, 0);
  if (!(precision >= 0 && precision <= 17)) problems.push({ key: 'precision' });
  // report by exception judges the means of statistics: a feature vector always goes out
  const exception: ExceptionOptions = {
    mode: features ? 'none' : pick<ExceptionMode>(def.exception, ['none', 'absolute', 'percent'], 'none'),
    band: toNumber(def.exceptionBand, 0),
    heartbeatMs: toNumber(def.exceptionHeartbeat, 0) * 1000,
  };
  if (exception.mode !== 'none') {
    if (!(exception.band >= 0) || !(exception.heartbeatMs >= 0)) problems.push({ key: 'exception' });
    if (!statistics.includes('mean')) problems.push({ key: 'exceptionMean' });
  }
  const key = (def.key || 'topic').trim();
  const keyProblem = pathProblem(key);
  if (keyProblem) problems.push({ key: 'path', vars: { problem: keyProblem } });
  return { windows, key, features, partial: def.partial === 'drop' ? 'drop' : 'flush', maxStreams, precision, exception, problems };
}

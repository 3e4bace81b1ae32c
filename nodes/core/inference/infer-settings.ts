/**
 * edge-infer's settings from the editor's fields (strings), with every problem named by a key the node
 * translates, so a bad setting is reported at deploy.
 */
import { OVERFLOW_POLICIES, OverflowPolicy } from './batch-scheduler';
import { toInt, toNumber } from '../shared/fields';
import { EngineOptions } from './inference-engine';
import { OUTPUT_MODES, OutputMode, SCORE_TRANSFORMS, ScoreTransform } from './postprocess';
import { DEFAULT_DRIFT } from '../monitoring/drift-monitor';
import { EXPLAIN_METHODS, ExplainMethod } from '../monitoring/explain';
import type { WatchOptions } from '../monitoring/model-watch';

export interface InferSettings {
  mode: string;
  output: string;
  topK: string;
  transform: string;
  threshold: string;
  nan: string;
  maxBatch: string;
  batchWait: string;
  concurrency: string;
  queueSize: string;
  overflow: string;
  threads: string;
  maxValues: string;
  /** "off", "samples" (a window of driftWindow samples) or "minutes" (of driftWindow minutes); absent: off */
  drift?: string;
  driftWindow?: string;
  driftWatch?: string;
  driftAlarm?: string;
  explain?: string;
}

function pick<T extends string>(value: string, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

/** The engine options, and the keys of the fields that are wrong. */
export function engineOptions(def: InferSettings): { options: EngineOptions; problems: string[] } {
  const threshold = String(def.threshold ?? '').trim() === '' ? undefined : toNumber(def.threshold, NaN);
  const options: EngineOptions = {
    threads: toInt(def.threads, 1),
    post: {
      mode: pick<OutputMode>(def.mode, OUTPUT_MODES, 'raw'),
      output: (def.output ?? '').trim() || undefined,
      k: toInt(def.topK, 3),
      transform: pick<ScoreTransform>(def.transform, SCORE_TRANSFORMS, 'none'),
      threshold,
    },
    nan: def.nan === 'pass' ? 'pass' : 'reject',
    maxValues: toInt(def.maxValues, 100_000),
    maxBatch: toInt(def.maxBatch, 1),
    maxWaitMs: toNumber(def.batchWait, 10),
    concurrency: toInt(def.concurrency, 1),
    queueLimit: toInt(def.queueSize, 100),
    overflow: pick<OverflowPolicy>(def.overflow, OVERFLOW_POLICIES, 'drop-oldest'),
  };
  const watching: WatchOptions = { explain: pick<ExplainMethod>(def.explain ?? 'off', EXPLAIN_METHODS, 'off') };
  options.watch = watching;
  const drift = def.drift ?? 'off';
  const window = toNumber(def.driftWindow, drift === 'minutes' ? 60 : DEFAULT_DRIFT.samples);
  const watch = toNumber(def.driftWatch, DEFAULT_DRIFT.watch);
  const alarm = toNumber(def.driftAlarm, DEFAULT_DRIFT.drift);
  if (drift === 'samples' || drift === 'minutes') {
    watching.drift = { samples: drift === 'samples' ? window : 0, windowMs: drift === 'minutes' ? window * 60_000 : 0, watch, drift: alarm };
  }
  const problems: string[] = [];
  const whole = (v: number, min: number, max: number, key: string) => {
    if (!(Number.isInteger(v) && v >= min && v <= max)) problems.push(key);
  };
  whole(options.threads, 1, 64, 'threads');
  whole(options.maxBatch, 1, 4096, 'maxBatch');
  whole(options.concurrency, 1, 64, 'concurrency');
  whole(options.queueLimit, Math.max(1, options.maxBatch), 1_000_000, 'queueSize');
  whole(options.maxValues, 1, 100_000_000, 'maxValues');
  whole(options.post.k, 1, 1000, 'topK');
  if (!(options.maxWaitMs >= 0 && options.maxWaitMs <= 60_000)) problems.push('batchWait');
  if (threshold !== undefined && !Number.isFinite(threshold)) problems.push('threshold');
  if (!['off', 'samples', 'minutes'].includes(drift)) problems.push('drift');
  if (def.explain !== undefined && !(EXPLAIN_METHODS as readonly string[]).includes(def.explain)) problems.push('explain');
  if (watching.drift) {
    if (drift === 'samples') whole(window, 10, 10_000_000, 'driftWindow');
    else if (!(window >= 0.1 && window <= 10_080)) problems.push('driftWindow');
    // PSI is 0 for identical distributions and has no upper bound; "watch" must come before "drift"
    if (!(watch > 0 && watch <= 10)) problems.push('driftWatch');
    if (!(alarm > 0 && alarm <= 10 && alarm >= watch)) problems.push('driftAlarm');
  }
  return { options, problems };
}


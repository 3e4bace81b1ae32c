/**
 * Input drift on the gateway: the live values of each feature, counted into the training quantile bins over a
 * tumbling window (a count of samples, or a time), then per feature the population stability index (PSI) against
 * the training shares and the shift of the mean in training standard deviations. The worst feature's PSI is the
 * score; 0.1 is "watch" and 0.25 "drift" by default, the thresholds credit scoring has used for decades.
 *
 * Cheap by design: per sample and feature one binary search over nine edges and two additions; the logarithms
 * run once per window.
 */
import { binOf, FeatureStats, TrainingStats } from './training-stats';

export type DriftLevel = 'pending' | 'ok' | 'watch' | 'drift';

export interface DriftOptions {
  /** samples per window (0: the window is a time) */
  samples: number;
  /** window length in ms (0: the window is a count) */
  windowMs: number;
  watch: number;
  drift: number;
}

// 720 samples: an hour of the demo's feature vectors (one per 5 s). PSI on a short window of a slowly wandering
// input reports drift that is not there (README, "Monitoring models at the edge", has the figures)
export const DEFAULT_DRIFT: DriftOptions = { samples: 720, windowMs: 0, watch: 0.1, drift: 0.25 };

export interface FeatureDrift {
  psi: number;
  /** (live mean - training mean) / training sd */
  shift: number;
}

/** What msg.inference.drift carries: the last complete window (or, before the first, how far the first is). */
export interface DriftSummary {
  level: DriftLevel;
  /** the worst feature's PSI */
  score?: number;
  feature?: string;
  shift?: number;
  /** samples in the last complete window, or so far in the first */
  samples: number;
  /** windows completed since the model started serving */
  windows: number;
}

export interface DriftReport extends DriftSummary {
  score: number;
  feature: string;
  shift: number;
  /** the mean PSI over all features */
  mean: number;
  features: Record<string, FeatureDrift>;
}

interface Tracked {
  name: string;
  stats: FeatureStats;
  counts: Float64Array;
  sum: number;
}

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** PSI of live counts against training shares; a share of a bin is smoothed so an empty bin stays finite. */
export function psi(counts: ArrayLike<number>, shares: readonly number[], n: number): number {
  const bins = shares.length;
  let total = 0;
  for (let i = 0; i < bins; i++) {
    const live = (counts[i] + 0.5) / (n + 0.5 * bins);
    const expected = Math.max(shares[i], 1e-4);
    total += (live - expected) * Math.log(live / expected);
  }
  return total;
}

export class DriftMonitor {
  private readonly tracked: Tracked[];
  private n = 0;
  private windowStart: number | undefined;
  private windows = 0;
  private last: DriftReport | undefined;
  private summaryNow: DriftSummary;

  /**
   * `features` in the order of the model's input; `unscale` turns a model-input value back into the raw unit the
   * statistics are in (the manifest's preprocessing undone), or is absent when the model takes raw values.
   */
  constructor(features: readonly string[], stats: TrainingStats, private readonly o: DriftOptions,
    private readonly unscale?: { scale: readonly number[]; offset: readonly number[] }) {
    this.tracked = features.map((name) => ({ name, stats: stats.features[name], counts: new Float64Array(stats.features[name].shares.length), sum: 0 }));
    this.summaryNow = { level: 'pending', samples: 0, windows: 0 };
  }

  /** The state msg.inference.drift shows (the same object until a window completes). */
  get summary(): DriftSummary {
    return this.summaryNow;
  }

  /**
   * Counts `rows` samples of model input (row-major, one value per feature) taken at `now`. Returns the report when
   * this completed a window.
   */
  add(data: ArrayLike<number>, rows: number, now: number): DriftReport | undefined {
    const width = this.tracked.length;
    if (data.length !== rows * width) return undefined;
    if (this.windowStart === undefined) this.windowStart = now;
    // a time window ends at the first sample after it: a quiet input completes no empty window
    let report: DriftReport | undefined;
    if (this.o.windowMs > 0 && now - this.windowStart >= this.o.windowMs && this.n > 0) report = this.complete(now);
    const u = this.unscale;
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < width; j++) {
        const t = this.tracked[j];
        const z = data[r * width + j];
        const v = u ? (z - u.offset[j]) / u.scale[j] : z;
        t.counts[binOf(t.stats.edges, v)]++;
        t.sum += v;
      }
      this.n++;
      if (this.o.samples > 0 && this.n >= this.o.samples) report = this.complete(now);
    }
    if (!report && this.windows === 0) this.summaryNow = { level: 'pending', samples: this.n, windows: 0 };
    return report;
  }

  private complete(now: number): DriftReport {
    const n = this.n;
    const features: Record<string, FeatureDrift> = {};
    let worst: Tracked | undefined;
    let worstPsi = -1;
    let total = 0;
    for (const t of this.tracked) {
      const p = psi(t.counts, t.stats.shares, n);
      const shift = t.stats.sd > 0 ? (t.sum / n - t.stats.mean) / t.stats.sd : 0;
      features[t.name] = { psi: r4(p), shift: r4(shift) };
      total += p;
      if (p > worstPsi) {
        worstPsi = p;
        worst = t;
      }
      t.counts.fill(0);
      t.sum = 0;
    }
    this.n = 0;
    this.windowStart = now;
    this.windows++;
    const level: DriftLevel = worstPsi >= this.o.drift ? 'drift' : worstPsi >= this.o.watch ? 'watch' : 'ok';
    const name = worst!.name;
    this.last = { level, score: r4(worstPsi), feature: name, shift: features[name].shift, mean: r4(total / this.tracked.length), samples: n, windows: this.windows, features };
    this.summaryNow = { level, score: this.last.score, feature: name, shift: this.last.shift, samples: n, windows: this.windows };
    return this.last;
  }

  /** The last complete window's full report. */
  get lastReport(): DriftReport | undefined {
    return this.last;
  }
}

/** Why a model cannot be watched for drift (in words), or undefined when it can. */
export function driftProblem(features: readonly string[] | undefined, stats: TrainingStats | undefined, width: number | string | undefined): string | undefined {
  if (!stats) return 'its manifest has no training statistics ("training"); package it with them';
  if (!features?.length) return 'its manifest names no features';
  const missing = features.filter((f) => !stats.features?.[f]);
  if (missing.length) return `its training statistics miss feature(s) ${missing.slice(0, 3).join(', ')}`;
  if (typeof width === 'number' && width >= 0 && width !== features.length) return `its input takes ${width} values per sample, not the ${features.length} features`;
  return undefined;
}

/** The message edge-infer's second output sends when a version's drift level changes (`drifting` for a flag alarm). */
export function driftEvent(model: string, version: string, r: DriftReport): { topic: string; payload: Record<string, unknown> } {
  return {
    topic: `${model}/drift`,
    payload: { level: r.level, drifting: r.level === 'drift', score: r.score, feature: r.feature, shift: r.shift, mean: r.mean,
      samples: r.samples, windows: r.windows, features: r.features, model, version },
  };
}

/**
 * What edge-infer watches on one served version: the drift of its inputs against the manifest's training
 * statistics, and why a result was flagged. Made when a version starts serving; what cannot be watched on this
 * version is said once in `notes` (in words) and the version serves as usual.
 */
import type { Preprocessing } from '../models/model-manifest';
import type { TrainingStats } from './training-stats';
import type { OutputMode } from '../inference/postprocess';
import { DriftLevel, DriftMonitor, DriftOptions, DriftReport, driftProblem } from './drift-monitor';
import { Contribution, deviations, ExplainMethod, occlusionBaseline, occlusionContributions, occlusionRows } from './explain';

export interface WatchOptions {
  /** undefined: drift is not watched */
  drift?: DriftOptions;
  explain: ExplainMethod;
}

/** What watching needs to know of the version. */
export interface WatchedModel {
  features?: string[];
  training?: TrainingStats;
  preprocessing?: Preprocessing;
  /** values per sample of the first input (its last dimension) */
  width: number | string | undefined;
  /** the first input is [batch, features] and the only input: occlusion runs all its rows in one call */
  occludable: boolean;
  mode: OutputMode;
}

/** The score and class a result is explained by: the anomaly score, or the top class's score. */
export function resultScore(payload: unknown, mode: OutputMode): { score: number; index: number; explain: boolean } | undefined {
  const top = (mode === 'topk' && Array.isArray(payload) ? payload[0] : payload) as { score?: unknown; index?: unknown; anomaly?: unknown } | undefined;
  if (!top || typeof top.score !== 'number') return undefined;
  // an anomaly verdict is explained when it flags; a class always (which features made it that class)
  return { score: top.score, index: typeof top.index === 'number' ? top.index : 0, explain: mode !== 'anomaly' || top.anomaly === true };
}

export class ModelWatch {
  readonly drift?: DriftMonitor;
  readonly explain: ExplainMethod;
  readonly notes: string[] = [];
  readonly baseline?: number[];
  private level: DriftLevel = 'ok';

  constructor(private readonly m: WatchedModel, o: WatchOptions) {
    if (o.drift) {
      const problem = driftProblem(m.features, m.training, m.width);
      if (problem) this.notes.push(`drift is not watched: ${problem}`);
      else this.drift = new DriftMonitor(m.features!, m.training!, o.drift, m.preprocessing);
    }
    let explain = o.explain;
    if (explain !== 'off' && m.mode === 'raw') {
      this.notes.push('explanations need a result mode (anomaly, class or top k), not raw tensors');
      explain = 'off';
    } else if (explain !== 'off' && !m.features?.length) {
      this.notes.push('explanations need the manifest\'s feature names');
      explain = 'off';
    } else if (explain === 'deviation' && !m.training && !m.preprocessing) {
      this.notes.push('deviations need training statistics or a standardization in the manifest');
      explain = 'off';
    } else if (explain === 'occlusion') {
      this.baseline = m.occludable ? occlusionBaseline(m.features!, m.training, m.preprocessing) : undefined;
      if (!this.baseline) {
        this.notes.push(m.occludable ? 'occlusion needs training statistics or a standardization in the manifest'
          : 'occlusion needs a single input of shape [batch, features]');
        explain = 'off';
      }
    }
    this.explain = explain;
  }

  get features(): string[] {
    return this.m.features ?? [];
  }

  /** Counts a message's input rows; returns the window's report when the level changed with it. */
  observe(data: ArrayLike<number>, rows: number, now: number): DriftReport | undefined {
    const report = this.drift?.add(data, rows, now);
    if (!report || report.level === this.level) return undefined;
    this.level = report.level;
    return report;
  }

  /** Standardized deviations of one row of model input. */
  deviations(row: ArrayLike<number>): Contribution[] {
    return deviations(row, this.features, this.m.training, this.m.preprocessing);
  }

  /** The occlusion rows of several samples, one after the other (F rows of F values each). */
  occlusionInput(rows: ArrayLike<number>[], into: Float32Array | Float64Array): void {
    const f = this.baseline!.length;
    rows.forEach((row, i) => occlusionRows(row, this.baseline!, into, i * f * f));
  }

  occlusion(score: number, occluded: ArrayLike<number>): Contribution[] {
    return occlusionContributions(score, occluded, this.features);
  }
}

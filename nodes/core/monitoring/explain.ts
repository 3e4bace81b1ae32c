/**
 * Why a sample was flagged: per-feature contributions, the largest first.
 *   deviation: how far each input is from what training saw, in training standard deviations (from the manifest's
 *              training statistics, else its standardization, whose output is that deviation already);
 *   occlusion: how much the score falls when that one feature is replaced by its training mean, for any model,
 *              all features in one batched run.
 */
import type { Preprocessing } from '../models/model-manifest';
import type { TrainingStats } from './training-stats';

export type ExplainMethod = 'off' | 'deviation' | 'occlusion';
export const EXPLAIN_METHODS: readonly ExplainMethod[] = ['off', 'deviation', 'occlusion'];

export interface Contribution {
  feature: string;
  /** signed: standard deviations (deviation) or score (occlusion) */
  value: number;
  unit: 'sd' | 'score';
}

export const EXPLAIN_TOP = 3;

const r2 = (v: number) => Math.round(v * 100) / 100;

function top(list: Contribution[], k: number): Contribution[] {
  return list.sort((a, b) => Math.abs(b.value) - Math.abs(a.value) || a.feature.localeCompare(b.feature)).slice(0, k);
}

/** A model-input value back in the raw unit (the preprocessing undone). */
function raw(z: number, j: number, pre: Preprocessing | undefined): number {
  return pre ? (z - pre.offset[j]) / pre.scale[j] : z;
}

/**
 * The largest deviations of one sample (model input, as fed) from training, in sd. Needs training statistics or a
 * standardization; a feature of sd 0 is left out (any deviation would be infinite).
 */
export function deviations(row: ArrayLike<number>, features: readonly string[], stats: TrainingStats | undefined, pre: Preprocessing | undefined, k = EXPLAIN_TOP): Contribution[] {
  const out: Contribution[] = [];
  features.forEach((feature, j) => {
    const s = stats?.features[feature];
    const value = s ? (s.sd > 0 ? (raw(row[j], j, pre) - s.mean) / s.sd : NaN) : row[j];
    if (Number.isFinite(value)) out.push({ feature, value: r2(value), unit: 'sd' });
  });
  return top(out, k);
}

/**
 * The model-input row each feature is replaced by for occlusion: the training mean (scaled as the model takes it),
 * or 0 for a standardized model without statistics (the standardized mean); undefined when neither is known.
 */
export function occlusionBaseline(features: readonly string[], stats: TrainingStats | undefined, pre: Preprocessing | undefined): number[] | undefined {
  if (stats && features.every((f) => stats.features[f])) {
    return features.map((f, j) => (pre ? stats.features[f].mean * pre.scale[j] + pre.offset[j] : stats.features[f].mean));
  }
  return pre ? features.map(() => 0) : undefined;
}

/** F rows for one sample of F features: row j is the sample with feature j set to its baseline. */
export function occlusionRows(row: ArrayLike<number>, baseline: readonly number[], into: Float32Array | Float64Array, at: number): void {
  const width = baseline.length;
  for (let j = 0; j < width; j++) {
    const base = at + j * width;
    for (let i = 0; i < width; i++) into[base + i] = row[i];
    into[base + j] = baseline[j];
  }
}

/** The score change of each feature: how much lower the score is without it (positive: it raised the score). */
export function occlusionContributions(score: number, occluded: ArrayLike<number>, features: readonly string[], k = EXPLAIN_TOP): Contribution[] {
  return top(features.map((feature, j) => ({ feature, value: r2(score - occluded[j]), unit: 'score' as const })), k);
}

function signed(v: number, digits: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;
}

/**
 * The explanation in words, as an alarm message shows it: "vibration.mean +4.1 sd, temperature.mean +2.3 sd", or
 * for occlusion "vibration.mean +3.20 score" (the score would be 3.20 lower with a typical vibration).
 */
export function explainText(list: unknown): string {
  if (!Array.isArray(list)) return '';
  // any message can carry msg.inference.explain: an alarm's text stays bounded whatever it holds
  return list
    .slice(0, EXPLAIN_TOP)
    .filter((c): c is Contribution => !!c && typeof c.feature === 'string' && Number.isFinite(c.value))
    .map((c) => `${c.feature.slice(0, 64)} ${signed(c.value, c.unit === 'sd' ? 1 : 2)}${c.unit === 'sd' ? ' sd' : ' score'}`)
    .join(', ');
}

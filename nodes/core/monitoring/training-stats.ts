/**
 * What a model saw in training, per input feature, as the manifest carries it: mean, standard deviation and ten
 * quantile bins (their inner edges and the share of the training rows in each). The drift monitor compares the live
 * inputs with these bins; the explanation measures deviations in these standard deviations.
 */

export interface FeatureStats {
  mean: number;
  sd: number;
  /**
   * Quantile bins: `edges` are the inner cut points, ascending and distinct (nine for ten deciles, fewer where
   * values repeat); bin i holds the values above edges[i - 1] and up to edges[i]. `shares` has one more entry.
   */
  edges: number[];
  shares: number[];
}

export interface TrainingStats {
  /** rows the statistics were computed from */
  samples: number;
  /** by feature name, in any order */
  features: Record<string, FeatureStats>;
}

export const QUANTILE_BINS = 10;

/** The bin a value falls in: how many edges lie below it (a binary search; this runs per feature per message). */
export function binOf(edges: readonly number[], v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v > edges[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One feature's statistics from its training values. */
export function featureStats(values: readonly number[]): FeatureStats {
  const n = values.length;
  if (n === 0) throw new Error('no training values');
  const sorted = Float64Array.from(values).sort();
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(sorted.reduce((a, b) => a + (b - mean) * (b - mean), 0) / n);
  const edges: number[] = [];
  for (let q = 1; q < QUANTILE_BINS; q++) {
    const e = sorted[Math.min(n - 1, Math.ceil((q * n) / QUANTILE_BINS) - 1)];
    // a repeated value would make an empty bin: one edge per distinct cut, and none at the maximum
    if (e < sorted[n - 1] && (edges.length === 0 || e > edges[edges.length - 1])) edges.push(e);
  }
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of sorted) counts[binOf(edges, v)]++;
  return { mean, sd, edges, shares: counts.map((c) => c / n) };
}

/** The statistics of every feature from training rows (each row in the order of `features`). */
export function trainingStats(rows: readonly (readonly number[])[], features: readonly string[]): TrainingStats {
  const out: Record<string, FeatureStats> = {};
  features.forEach((name, j) => {
    const column = rows.map((r, i) => {
      const v = r[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`training row ${i + 1}, feature "${name}": ${String(v)} is not a number`);
      return v;
    });
    out[name] = featureStats(column);
  });
  return { samples: rows.length, features: out };
}

/**
 * Training rows from a training-set file's parsed JSON: an array of rows (arrays in the feature order, or objects
 * naming the features), or {x: rows} as `generate` writes its held-out set.
 */
export function trainingRows(data: unknown, features: readonly string[]): number[][] {
  const rows = Array.isArray(data) ? data : data && typeof data === 'object' && Array.isArray((data as { x?: unknown }).x) ? (data as { x: unknown[] }).x : undefined;
  if (!rows || rows.length === 0) throw new Error('the training set must be a non-empty array of rows (or {"x": rows})');
  return rows.map((r, i) => {
    if (Array.isArray(r)) {
      if (r.length !== features.length) throw new Error(`training row ${i + 1} has ${r.length} values, the model takes ${features.length} features`);
      return r as number[];
    }
    if (r && typeof r === 'object') {
      return features.map((f) => {
        if (!(f in r)) throw new Error(`training row ${i + 1} has no feature "${f}"`);
        return (r as Record<string, number>)[f];
      });
    }
    throw new Error(`training row ${i + 1} is neither an array nor an object`);
  });
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Every problem with a manifest's training statistics, in words; empty when usable. */
export function trainingStatsProblems(t: unknown, features: readonly string[] | undefined): string[] {
  if (!t || typeof t !== 'object' || Array.isArray(t)) return ['"training" must be an object with "samples" and "features"'];
  const o = t as Partial<TrainingStats>;
  const problems: string[] = [];
  if (!(Number.isInteger(o.samples) && o.samples! > 0)) problems.push('"training.samples" must be a whole number above 0');
  if (!o.features || typeof o.features !== 'object') return [...problems, '"training.features" must be an object by feature name'];
  for (const name of features ?? Object.keys(o.features)) {
    const f = o.features[name];
    if (!f) {
      problems.push(`"training.features" has no statistics for "${name}"`);
      continue;
    }
    const ascending = Array.isArray(f.edges) && f.edges.every((e, i) => finite(e) && (i === 0 || e > f.edges[i - 1]));
    const shares = Array.isArray(f.shares) && f.shares.every((s) => finite(s) && s >= 0) && Array.isArray(f.edges) && f.shares.length === f.edges.length + 1
      && Math.abs(f.shares.reduce((a, b) => a + b, 0) - 1) < 1e-6;
    if (!finite(f.mean) || !finite(f.sd) || f.sd < 0 || !ascending || !shares) {
      problems.push(`"training.features.${name}" must have a mean, an sd of 0 or more, ascending edges and one share more than edges, summing to 1`);
    }
  }
  return problems;
}

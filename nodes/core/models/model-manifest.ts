/**
 * What a model version says about itself: the manifest stored beside model.onnx. The inference node reads the
 * feature order, preprocessing, labels and threshold from it; the updater verifies it before anything is installed.
 */

import { TrainingStats, trainingStatsProblems } from '../monitoring/training-stats';

/** Element types as onnxruntime names them. */
export type TensorType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'uint8' | 'int8' | 'string' | string;

export interface TensorInfo {
  name: string;
  type: TensorType;
  /** a number per fixed dimension; a name (e.g. "batch") or -1 for a dynamic one */
  shape: Array<number | string>;
}

export interface Preprocessing {
  /** per feature: value * scale + offset (standardization is scale = 1/sd, offset = -mean/sd) */
  scale: number[];
  offset: number[];
}

export interface ModelManifest {
  name: string;
  version: string;
  /** hex sha256 of model.onnx */
  sha256: string;
  /** ISO time the version was made */
  created: string;
  inputs?: TensorInfo[];
  outputs?: TensorInfo[];
  /** the order of the feature vector the model expects, e.g. ["vibration.mean", ...] */
  features?: string[];
  preprocessing?: Preprocessing;
  /** class names by output index */
  labels?: string[];
  /** anomaly score above which a sample is anomalous */
  threshold?: number;
  description?: string;
  /** figures from training, e.g. held-out accuracy */
  metrics?: Record<string, number>;
  /** per input feature: mean, sd and quantile bins of the training set (drift and explanations use them) */
  training?: TrainingStats;
}

/** Names that may become directory names: no separators, no "..", nothing hidden. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && SAFE_NAME.test(name) && !name.includes('..');
}

function numberArray(v: unknown, length?: number): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (length === undefined || v.length === length);
}

function tensorInfos(v: unknown): boolean {
  return Array.isArray(v) && v.every((t) => t && typeof t.name === 'string' && typeof t.type === 'string' && Array.isArray(t.shape));
}

/** Every problem with a manifest, in words; empty when it is usable. */
export function validateManifest(m: unknown): string[] {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return ['the manifest is not a JSON object'];
  const o = m as Record<string, unknown>;
  const problems: string[] = [];
  if (!isSafeName(o.name)) problems.push('"name" must be 1-64 letters, digits, ".", "_" or "-"');
  if (!isSafeName(o.version)) problems.push('"version" must be 1-64 letters, digits, ".", "_" or "-"');
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) problems.push('"sha256" must be 64 lower-case hex digits');
  if (typeof o.created !== 'string' || Number.isNaN(Date.parse(o.created))) problems.push('"created" must be an ISO date');
  if (o.inputs !== undefined && !tensorInfos(o.inputs)) problems.push('"inputs" must be a list of {name, type, shape}');
  if (o.outputs !== undefined && !tensorInfos(o.outputs)) problems.push('"outputs" must be a list of {name, type, shape}');
  if (o.features !== undefined && !(Array.isArray(o.features) && o.features.every((f) => typeof f === 'string'))) {
    problems.push('"features" must be a list of names');
  }
  if (o.labels !== undefined && !(Array.isArray(o.labels) && o.labels.every((f) => typeof f === 'string'))) {
    problems.push('"labels" must be a list of names');
  }
  if (o.threshold !== undefined && !(typeof o.threshold === 'number' && Number.isFinite(o.threshold))) {
    problems.push('"threshold" must be a number');
  }
  if (o.preprocessing !== undefined) {
    const p = o.preprocessing as Preprocessing;
    const n = Array.isArray(o.features) ? o.features.length : p && Array.isArray(p.scale) ? p.scale.length : 0;
    if (!p || !numberArray(p.scale, n) || !numberArray(p.offset, n) || n === 0) {
      problems.push('"preprocessing" must have "scale" and "offset" with one number per feature');
    }
  }
  if (o.training !== undefined) problems.push(...trainingStatsProblems(o.training, o.features as string[] | undefined));
  return problems;
}

/** Orders versions the way people number them: "2" < "10", "1.2.9" < "1.10.0", "1.0.0-rc1" < "1.0.0". */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA] = splitPre(a);
  const [coreB, preB] = splitPre(b);
  const pa = coreA.split('.');
  const pb = coreB.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const c = compareSegment(pa[i] ?? '0', pb[i] ?? '0');
    if (c !== 0) return c;
  }
  if (preA === preB) return 0;
  if (preA === undefined) return 1;
  if (preB === undefined) return -1;
  return compareSegment(preA, preB);
}

function splitPre(v: string): [string, string | undefined] {
  const i = v.indexOf('-');
  return i < 0 ? [v, undefined] : [v.slice(0, i), v.slice(i + 1)];
}

function compareSegment(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return Number(a) - Number(b) || 0;
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One version of a model as a reader gets it: what to load, and what its manifest says. */
export interface ModelSource {
  name: string;
  version: string;
  file: string;
  /** from the manifest; absent for a plain file */
  sha256?: string;
  manifest?: Partial<ModelManifest>;
  /** why this version is served rather than the one the store points at (a damaged pointer), for the user to see */
  warning?: string;
}

/**
 * From output tensors to what the flow wants: raw arrays, a class label, the top k classes, or an anomaly
 * verdict against a threshold.
 */
import { TensorInfo } from '../models/model-manifest';
import { InputError, OutputTensor, toNested } from './tensor-map';

export type OutputMode = 'raw' | 'classify' | 'topk' | 'anomaly';
export const OUTPUT_MODES: readonly OutputMode[] = ['raw', 'classify', 'topk', 'anomaly'];
export type ScoreTransform = 'none' | 'softmax' | 'sigmoid';
export const SCORE_TRANSFORMS: readonly ScoreTransform[] = ['none', 'softmax', 'sigmoid'];

export interface PostOptions {
  mode: OutputMode;
  /** the output to read; default: chosen by mode */
  output?: string;
  k: number;
  transform: ScoreTransform;
  threshold?: number;
  labels?: string[];
}

export interface ClassResult {
  label: string | number;
  index: number;
  score: number;
}

export interface AnomalyResult {
  score: number;
  anomaly: boolean;
  threshold: number;
  label?: string;
}

const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

/** The output a mode reads: the one named, else the first float output (for classes: with more than one value). */
export function pickOutput(outputs: TensorInfo[], o: Pick<PostOptions, 'mode' | 'output'>): TensorInfo {
  if (o.output) {
    const named = outputs.find((t) => t.name === o.output);
    if (!named) throw new InputError(`the model has no output "${o.output}" (it has ${outputs.map((t) => t.name).join(', ')})`);
    return named;
  }
  const floats = outputs.filter((t) => FLOAT_TYPES.has(t.type));
  const wide = floats.find((t) => {
    const last = t.shape[t.shape.length - 1];
    return typeof last !== 'number' || last !== 1;
  });
  const pick = (o.mode === 'classify' || o.mode === 'topk' ? wide ?? floats[0] : floats[0]) ?? outputs[0];
  if (!pick) throw new InputError('the model declares no outputs');
  return pick;
}

/** Checks what a mode needs before the first message (reported at deploy or model load). */
export function checkPostOptions(outputs: TensorInfo[], o: PostOptions): string[] {
  if (o.mode === 'raw') return [];
  const problems: string[] = [];
  try {
    const t = pickOutput(outputs, o);
    if (!FLOAT_TYPES.has(t.type) && o.mode !== 'classify') problems.push(`output "${t.name}" holds ${t.type}, not scores`);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (o.mode === 'anomaly' && (o.threshold === undefined || !Number.isFinite(o.threshold))) {
    problems.push('anomaly mode needs a threshold: set one in the node or in the model manifest');
  }
  if (o.mode === 'topk' && !(Number.isInteger(o.k) && o.k >= 1)) problems.push('top k must be a whole number of 1 or more');
  return problems;
}

function transform(row: number[], t: ScoreTransform): number[] {
  if (t === 'sigmoid') return row.map((v) => 1 / (1 + Math.exp(-v)));
  if (t === 'softmax') {
    const max = Math.max(...row);
    const e = row.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  }
  return row;
}

/** The rows of a tensor: split along its first dimension when that is the batch, else one row. */
function rowsOf(t: OutputTensor, rows: number): number[][] {
  const flat = Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
  if (rows === 1 && !(t.dims.length > 1 && t.dims[0] === 1)) return [flat];
  if (t.dims[0] !== rows) throw new InputError(`output has shape [${t.dims.join(', ')}], expected ${rows} row(s)`);
  const per = flat.length / rows;
  return Array.from({ length: rows }, (_, i) => flat.slice(i * per, (i + 1) * per));
}

function ranked(row: number[], o: PostOptions): ClassResult[] {
  const scores = transform(row, o.transform);
  return scores
    .map((score, index) => ({ label: o.labels?.[index] ?? index, index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index);
}

/**
 * The payload for one message. `rows` is how many samples the message carried; `batched` whether it sent them
 * as a batch (then the payload is an array with one result per sample).
 */
export function postprocess(outputs: Record<string, OutputTensor>, infos: TensorInfo[], o: PostOptions, rows: number, batched: boolean): unknown {
  if (o.mode === 'raw') {
    const names = infos.map((i) => i.name).filter((n) => n in outputs);
    const plain = (n: string) => toNested(outputs[n], !batched);
    if (o.output) return plain(o.output);
    if (names.length === 1) return plain(names[0]);
    return Object.fromEntries(names.map((n) => [n, plain(n)]));
  }
  const info = pickOutput(infos, o);
  const perRow = rowsOf(outputs[info.name], rows);
  let results: unknown[];
  switch (o.mode) {
    case 'classify':
      results = perRow.map((row) => ranked(row, o)[0]);
      break;
    case 'topk':
      results = perRow.map((row) => ranked(row, o).slice(0, o.k));
      break;
    case 'anomaly':
      results = perRow.map((row) => {
        if (row.length !== 1) throw new InputError(`anomaly mode needs one score per sample; output "${info.name}" has ${row.length}`);
        const score = transform(row, o.transform === 'sigmoid' ? 'sigmoid' : 'none')[0];
        const anomaly = score > o.threshold!;
        const r: AnomalyResult = { score, anomaly, threshold: o.threshold! };
        if (o.labels && o.labels.length === 2) r.label = o.labels[anomaly ? 1 : 0];
        return r;
      });
      break;
  }
  return batched ? results : results[0];
}

/**
 * The score of one class in each row (anomaly mode: the score itself), as the mode reports it: what an occlusion
 * explanation compares with the sample's own.
 */
export function rowScores(outputs: Record<string, OutputTensor>, infos: TensorInfo[], o: PostOptions, rows: number, index: number): number[] {
  const perRow = rowsOf(outputs[pickOutput(infos, o).name], rows);
  const t = o.mode === 'anomaly' ? (o.transform === 'sigmoid' ? 'sigmoid' : 'none') : o.transform;
  return perRow.map((row) => transform(row, t)[o.mode === 'anomaly' ? 0 : index]);
}

/**
 * From a message payload to the model's input tensors, and from output tensors back to plain values.
 *
 * Accepted payloads: a numeric array, a typed array, a nested array (a batch of rows), an object of named features
 * (in the manifest's feature order) or an object of named input tensors. Every value is checked against the model's
 * declared inputs; a mismatch is an error that names the expected and the received shape.
 */
import { Preprocessing, TensorInfo } from '../models/model-manifest';

export type TypedData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

export interface Feed {
  type: string;
  data: TypedData;
  dims: number[];
}

export interface MappedInput {
  feeds: Record<string, Feed>;
  /** rows in this message (1 for a single sample) */
  rows: number;
  /** the payload was a batch of rows (its outputs keep the batch dimension) */
  batched: boolean;
  /** equal keys can share one batched call */
  batchKey: string;
}

export type NanPolicy = 'reject' | 'pass';

export interface MappingOptions {
  /** the manifest's feature order */
  features?: string[];
  preprocessing?: Preprocessing;
  nan: NanPolicy;
  /** msg.features from edge-aggregate: the names of a numeric array's elements */
  payloadFeatures?: unknown;
  /** refuse more values than this in one message */
  maxValues: number;
}

export class InputError extends Error {}

const DTYPES: Record<string, { array: new (n: number) => TypedData; integer?: [number, number]; big?: true; bool?: true }> = {
  float32: { array: Float32Array },
  float64: { array: Float64Array },
  int32: { array: Int32Array, integer: [-2147483648, 2147483647] },
  int64: { array: BigInt64Array, big: true },
  uint8: { array: Uint8Array, integer: [0, 255] },
  int8: { array: Int8Array, integer: [-128, 127] },
  bool: { array: Uint8Array, bool: true },
};

export function isSupportedType(type: string): boolean {
  return type in DTYPES;
}

export function shapeText(shape: ReadonlyArray<number | string>): string {
  return `[${shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : '?')).join(', ')}]`;
}

function isDynamic(d: number | string): boolean {
  return typeof d === 'string' || d < 0;
}

/** A leading dimension that is dynamic, or fixed at 1, is a batch dimension. */
export function hasBatchDim(spec: TensorInfo): boolean {
  return spec.shape.length >= 2 && (isDynamic(spec.shape[0]) || spec.shape[0] === 1);
}

function isTypedArray(v: unknown): v is ArrayLike<number> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isArrayish(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || isTypedArray(v);
}

/** The shape of a nested array (checked to be rectangular) and its values in row-major order. */
function flatten(value: unknown, what: string, maxValues: number): { shape: number[]; values: ArrayLike<unknown> } {
  // the common case, one flat vector, without the walk
  if (isArrayish(value) && (value.length === 0 || !isArrayish(value[0]))) {
    if (value.length > maxValues) throw new InputError(`${what} has ${value.length} values, more than the limit of ${maxValues}`);
    for (let i = 0; i < value.length; i++) {
      if (isArrayish(value[i])) throw new InputError(`${what} is not rectangular: nested deeper than [${value.length}]`);
    }
    return { shape: [value.length], values: value };
  }
  const shape: number[] = [];
  let probe: unknown = value;
  while (isArrayish(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0];
  }
  const total = shape.reduce((a, b) => a * b, 1);
  if (total > maxValues) throw new InputError(`${what} has ${total} values, more than the limit of ${maxValues}`);
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth === shape.length) {
      if (isArrayish(v)) throw new InputError(`${what} is not rectangular: nested deeper than ${shapeText(shape)}`);
      values.push(v);
      return;
    }
    if (!isArrayish(v) || v.length !== shape[depth]) {
      throw new InputError(`${what} is not rectangular: expected ${shape[depth]} element(s) at depth ${depth + 1}`);
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1);
  };
  walk(value, 0);
  return { shape, values };
}

/** Fits a received shape to a declared one: the result's dims, and whether a batch dimension was added. */
function fitShape(spec: TensorInfo, received: number[]): { dims: number[]; batched: boolean } | undefined {
  const declared = spec.shape;
  const matches = (d: number[], offset: number) =>
    d.every((n, i) => isDynamic(declared[i + offset]) || declared[i + offset] === n);
  if (declared.length === 0) {
    // unknown rank: take it as given
    return { dims: received, batched: false };
  }
  if (received.length === declared.length && matches(received, 0)) {
    return { dims: received, batched: hasBatchDim(spec) };
  }
  // one sample without its batch dimension
  if (hasBatchDim(spec) && received.length === declared.length - 1 && matches(received, 1)) {
    return { dims: [1, ...received], batched: false };
  }
  // a flat vector for a fixed-size sample, e.g. 8 numbers for [batch, 2, 4]
  const rest = hasBatchDim(spec) ? declared.slice(1) : declared;
  if (received.length === 1 && rest.every((d) => !isDynamic(d))) {
    const size = (rest as number[]).reduce((a, b) => a * b, 1);
    if (received[0] === size) return { dims: hasBatchDim(spec) ? [1, ...(rest as number[])] : (rest as number[]), batched: false };
  }
  return undefined;
}

function convert(values: ArrayLike<unknown>, spec: TensorInfo, o: MappingOptions, transform?: (v: number, i: number) => number): TypedData {
  const dtype = DTYPES[spec.type];
  if (!dtype) throw new InputError(`input "${spec.name}" has type ${spec.type}, which this node cannot feed`);
  const out = new dtype.array(values.length);
  for (let i = 0; i < values.length; i++) {
    let v = values[i];
    if (dtype.bool) {
      if (typeof v !== 'boolean' && v !== 0 && v !== 1) {
        throw new InputError(`input "${spec.name}" element ${i} is ${describe(v)}, expected true/false or 0/1`);
      }
      out[i] = v ? 1 : 0;
      continue;
    }
    if (dtype.big) {
      if (typeof v === 'bigint') {
        (out as BigInt64Array)[i] = v;
        continue;
      }
      if (typeof v === 'string' && /^-?\d+$/.test(v)) {
        (out as BigInt64Array)[i] = BigInt(v);
        continue;
      }
    }
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v !== 'number') throw new InputError(`input "${spec.name}" element ${i} is ${describe(v)}, expected a number`);
    if (transform) v = transform(v as number, i);
    const n = v as number;
    if (!Number.isFinite(n)) {
      if (o.nan === 'reject' || dtype.integer || dtype.big) {
        throw new InputError(`input "${spec.name}" element ${i} is ${n}; NaN and infinite values are rejected`);
      }
    } else if (dtype.integer || dtype.big) {
      if (!Number.isInteger(n)) throw new InputError(`input "${spec.name}" element ${i} is ${n}, expected an integer for ${spec.type}`);
      if (dtype.integer && (n < dtype.integer[0] || n > dtype.integer[1])) {
        throw new InputError(`input "${spec.name}" element ${i} is ${n}, outside the ${spec.type} range`);
      }
      if (dtype.big && !Number.isSafeInteger(n)) {
        throw new InputError(`input "${spec.name}" element ${i} is ${n}, too large to be exact; pass it as a string or BigInt`);
      }
    }
    if (dtype.big) (out as BigInt64Array)[i] = BigInt(n);
    else out[i] = n;
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return `the text "${v.length > 20 ? `${v.slice(0, 20)}…` : v}"`;
  return `a ${typeof v}`;
}

/** A feature vector's elements in the manifest's order, from an object or from an array with names. */
function byFeatureNames(source: Record<string, unknown>, features: string[]): unknown[] {
  const missing = features.filter((f) => !(f in source));
  if (missing.length) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, … (${missing.length} in all)` : '');
    throw new InputError(`missing feature(s): ${shown}`);
  }
  return features.map((f) => source[f]);
}

function mapTensor(value: unknown, spec: TensorInfo, o: MappingOptions, preprocess: boolean): { feed: Feed; rows: number; batched: boolean } {
  if (!isArrayish(value) && typeof value !== 'number') {
    throw new InputError(`input "${spec.name}" must be a numeric array, got ${describe(value)}`);
  }
  const { shape, values } = typeof value === 'number' ? { shape: [1], values: [value] } : flatten(value, `input "${spec.name}"`, o.maxValues);
  const fit = fitShape(spec, shape);
  if (!fit) {
    throw new InputError(`input "${spec.name}" expects shape ${shapeText(spec.shape)}, received ${shapeText(shape)}`);
  }
  let transform: ((v: number, i: number) => number) | undefined;
  const p = preprocess ? o.preprocessing : undefined;
  if (p) {
    const width = fit.dims[fit.dims.length - 1];
    if (width !== p.scale.length) {
      throw new InputError(`the preprocessing has ${p.scale.length} features, input "${spec.name}" has ${width} per row`);
    }
    transform = (v, i) => v * p.scale[i % width] + p.offset[i % width];
  }
  const rows = hasBatchDim(spec) || fit.batched ? fit.dims[0] : 1;
  return { feed: { type: spec.type, data: convert(values, spec, o, transform), dims: fit.dims }, rows, batched: fit.batched };
}

/** Maps one message's payload to input tensors for a model with these inputs. */
export function mapInput(payload: unknown, inputs: TensorInfo[], o: MappingOptions): MappedInput {
  if (inputs.length === 0) throw new InputError('the model declares no inputs');
  let perInput: Record<string, unknown>;
  const first = inputs[0];
  if (isArrayish(payload) || typeof payload === 'number') {
    if (inputs.length > 1) {
      throw new InputError(`the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}): send an object with one array per input`);
    }
    let value: unknown = payload;
    // a feature vector named element by element (edge-aggregate's msg.features): put it in the model's order
    if (o.features && Array.isArray(o.payloadFeatures) && Array.isArray(payload) && o.payloadFeatures.length === payload.length) {
      const named: Record<string, unknown> = {};
      o.payloadFeatures.forEach((n, i) => (named[String(n)] = payload[i]));
      value = byFeatureNames(named, o.features);
    }
    perInput = { [first.name]: value };
  } else if (payload && typeof payload === 'object') {
    const obj = payload as Record<string, unknown>;
    const named = inputs.filter((i) => i.name in obj);
    if (named.length === inputs.length) {
      perInput = obj;
    } else if (o.features && inputs.length === 1) {
      perInput = { [first.name]: byFeatureNames(obj, o.features) };
    } else if (named.length > 0) {
      throw new InputError(`missing input(s): ${inputs.filter((i) => !(i.name in obj)).map((i) => i.name).join(', ')}`);
    } else {
      const hint = o.features ? `the features (${o.features.slice(0, 4).join(', ')}…)` : `the inputs (${inputs.map((i) => i.name).join(', ')})`;
      throw new InputError(`the payload object must name ${hint}`);
    }
  } else {
    throw new InputError(`the payload must be a numeric array or an object, got ${describe(payload)}`);
  }
  const feeds: Record<string, Feed> = {};
  let rows = -1;
  let batched = false;
  for (const spec of inputs) {
    const m = mapTensor(perInput[spec.name], spec, o, spec === first);
    if (rows >= 0 && hasBatchDim(spec) && m.rows !== rows) {
      throw new InputError(`inputs disagree on the batch size: ${rows} and ${m.rows} (input "${spec.name}")`);
    }
    if (hasBatchDim(spec) || rows < 0) rows = m.rows;
    batched = batched || m.batched;
    feeds[spec.name] = m.feed;
  }
  // only a dynamic leading dimension can take rows from several messages at once
  const batchable = inputs.every((i) => i.shape.length >= 2 && isDynamic(i.shape[0]));
  const batchKey = batchable ? inputs.map((i) => `${i.name}:${feeds[i.name].dims.slice(1).join('x')}`).join('|') : '';
  return { feeds, rows, batched, batchKey };
}

/** Concatenates several messages' inputs along the batch dimension (all must share a batchKey). */
export function mergeInputs(items: MappedInput[]): Record<string, Feed> {
  if (items.length === 1) return items[0].feeds;
  const out: Record<string, Feed> = {};
  for (const name of Object.keys(items[0].feeds)) {
    const parts = items.map((it) => it.feeds[name]);
    const total = parts.reduce((a, p) => a + p.data.length, 0);
    const first = parts[0];
    const data = new (first.data.constructor as new (n: number) => TypedData)(total);
    let at = 0;
    for (const p of parts) {
      (data as Float32Array).set(p.data as Float32Array, at);
      at += p.data.length;
    }
    out[name] = { type: first.type, data, dims: [parts.reduce((a, p) => a + p.dims[0], 0), ...first.dims.slice(1)] };
  }
  return out;
}

export interface OutputTensor {
  type: string;
  data: ArrayLike<number | bigint | string | boolean>;
  dims: readonly number[];
}

/** Splits batched outputs back into one set per message, by the messages' row counts. */
export function splitOutputs(outputs: Record<string, OutputTensor>, rows: number[]): Array<Record<string, OutputTensor>> {
  if (rows.length === 1) return [outputs];
  const total = rows.reduce((a, b) => a + b, 0);
  const result: Array<Record<string, OutputTensor>> = rows.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) throw new InputError(`output "${name}" has shape ${shapeText(t.dims)}, which does not follow the batch of ${total}`);
    const per = t.data.length / total;
    let row = 0;
    rows.forEach((n, i) => {
      const slice = Array.prototype.slice.call(t.data, row * per, (row + n) * per) as Array<number | bigint>;
      result[i][name] = { type: t.type, data: slice, dims: [n, ...t.dims.slice(1)] };
      row += n;
    });
  }
  return result;
}

/** int64 values as numbers when exact, as decimal strings when not (so nothing is silently rounded). */
export function plainNumber(v: number | bigint | string | boolean): number | string | boolean {
  if (typeof v !== 'bigint') return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** A tensor as nested plain arrays; `dropBatch` removes a leading dimension of 1. */
export function toNested(t: OutputTensor, dropBatch: boolean): unknown {
  const dims = dropBatch && t.dims.length >= 1 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims.slice();
  const flat: unknown[] = t.type === 'int64' || t.type === 'uint64'
    ? Array.from(t.data as ArrayLike<bigint>, plainNumber)
    : Array.from(t.data as ArrayLike<number>);
  if (dims.length === 0) return flat[0];
  if (dims.length === 1) return flat;
  const build = (depth: number, offset: number): unknown[] => {
    const n = dims[depth];
    if (depth === dims.length - 1) return flat.slice(offset, offset + n);
    const stride = dims.slice(depth + 1).reduce((a, b) => a * b, 1);
    return Array.from({ length: n }, (_, i) => build(depth + 1, offset + i * stride));
  };
  return build(0, 0);
}

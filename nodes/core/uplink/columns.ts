/**
 * The column layout of a batch (format "columns", version 1): the records of one publish packed column-wise,
 * then deflated (zlib). Readings of one topic share their keys, so each key is written once per batch, not once
 * per record, and each column holds values of one kind, which deflate compresses well. Documented in the README
 * with a decoder a consumer can copy.
 *
 *   {
 *     "v": 1, "format": "columns", "epoch": "<queue epoch>",
 *     "gateway": "<gateway id>",        optional (added within version 1: readers ignore keys they do not know)
 *     "seq": [[first, count], ...],     runs of consecutive record ids
 *     "ts": [t0, d1, d2, ...],          the first timestamp (ms), then each one's difference from the one before
 *     "topics": ["a/b", ...],           the record topics of the batch, once each
 *     "topic": [0, 0, 1, ...],          each record's index into topics (left out when there is one topic)
 *     "shapes": [{                      records whose payloads have the same leaf paths
 *       "paths": [["temperature", "mean"], ...],   a leaf path: its keys from the payload down ([] the payload)
 *       "rows": [0, 1, ...],            the records (their place in the batch) of this shape
 *       "columns": [[61.2, 61.3, ...], ...]        one column per path, a value per row
 *     }]
 *   }
 *
 * A leaf is anything but an object with keys: a number, text, true/false, null, an array, or {}. A record's
 * payload is rebuilt by setting each path's value in order, so its keys come back in their order.
 *
 * The text is deflated (zlib, RFC 1950) with a preset dictionary, COLUMNS_DICTIONARY: the layout's own keys and
 * the field names of this suite's messages, so that a small publish (one alarm sent at once) does not pay for
 * them. The zlib header names the dictionary by its Adler-32 (FDICT); any zlib inflates it when given the text.
 */
import zlib from 'node:zlib';

export const COLUMNS_VERSION = 1;

/**
 * What a block of this suite's records usually says, for deflate to refer back to; the most frequent last (the
 * nearest is the cheapest to refer to). Part of version 1: changing it is a new version.
 */
export const COLUMNS_DICTIONARY = [
  '"quality":"good","uncertain","bad","unit":"","shelvedUntil","who","comment","heldBack","chatter","flood",',
  '"acknowledged","rtn-unack","latched","shelved","suppressed","out-of-service","low","medium","critical",',
  '["p95"],["slope"],["last"],["first"],["sum"],["range"],',
  '","count"],["","mean"],["","min"],["","max"],["","stddev"],["',
  '[["score"],["anomaly"],["threshold"],["label"]],"rows":[',
  '[["type"],["alarmId"],["state"],["previous"],["severity"],["priority"],["active"],["acked"],["value"],["message"],["ts"],["cause"]],"rows":[',
  '"transition","unacknowledged","normal","high",true,false,"condition","anomaly",null,',
  '{"v":1,"format":"columns","epoch":"","seq":[[,1]],"ts":[,60000,5000,1000,100],"topics":["alarm/","],"topic":[0,1],"shapes":[{"paths":[["',
  '"]],"rows":[0],"columns":[[',
].join('');

const DICTIONARY = Buffer.from(COLUMNS_DICTIONARY);

export interface ColumnRecord {
  seq: number;
  ts: number;
  topic: string;
  payload: unknown;
}

interface Shape {
  paths: string[][];
  rows: number[];
  columns: unknown[][];
}

export interface ColumnBlock {
  v: number;
  format: 'columns';
  epoch: string;
  gateway?: string;
  seq: Array<[number, number]>;
  ts: number[];
  topics: string[];
  topic?: number[];
  shapes: Shape[];
}

const isBranch = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0;

/** The payload's leaf values, depth first in key order; returns its shape as text (the same for the same paths). */
function leaves(payload: unknown, values: unknown[], quoted: Map<string, string>): string {
  if (!isBranch(payload)) {
    values.push(payload);
    return '.';
  }
  let shape = '{';
  for (const k in payload) {
    if (!Object.hasOwn(payload, k)) continue;
    let q = quoted.get(k);
    if (q === undefined) quoted.set(k, (q = JSON.stringify(k)));
    shape += `${q}:${leaves(payload[k], values, quoted)},`;
  }
  return `${shape}}`;
}

/** The leaf paths of a payload, in the order leaves() takes its values: made once per shape. */
function pathsOf(payload: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (!isBranch(payload)) out.push(prefix);
  else for (const k in payload) if (Object.hasOwn(payload, k)) pathsOf(payload[k], [...prefix, k], out);
  return out;
}

export function packColumns(epoch: string, records: ColumnRecord[], gateway?: string): ColumnBlock {
  const seq: Array<[number, number]> = [];
  const ts: number[] = [];
  const topics: string[] = [];
  const topicIndex = new Map<string, number>();
  const topic: number[] = [];
  const shapes: Shape[] = [];
  const shapeIndex = new Map<string, Shape>();
  // keys repeat from record to record: each is quoted once per batch
  const quoted = new Map<string, string>();
  records.forEach((r, row) => {
    const run = seq[seq.length - 1];
    if (run && run[0] + run[1] === r.seq) run[1]++;
    else seq.push([r.seq, 1]);
    ts.push(row === 0 ? r.ts : r.ts - records[row - 1].ts);
    let t = topicIndex.get(r.topic);
    if (t === undefined) {
      t = topics.push(r.topic) - 1;
      topicIndex.set(r.topic, t);
    }
    topic.push(t);
    const values: unknown[] = [];
    const key = leaves(r.payload, values, quoted);
    let shape = shapeIndex.get(key);
    if (!shape) {
      const paths = pathsOf(r.payload);
      shape = { paths, rows: [], columns: paths.map(() => []) };
      shapeIndex.set(key, shape);
      shapes.push(shape);
    }
    shape.rows.push(row);
    values.forEach((v, i) => shape!.columns[i].push(v));
  });
  const block: ColumnBlock = { v: COLUMNS_VERSION, format: 'columns', epoch, ...(gateway === undefined ? {} : { gateway }), seq, ts, topics, shapes };
  if (topics.length > 1) block.topic = topic;
  return block;
}

export function encodeColumns(epoch: string, records: ColumnRecord[], gateway?: string): Buffer {
  // zlib's default level: level 9 is six times the time for 2.5 % fewer bytes on statistics
  return zlib.deflateSync(JSON.stringify(packColumns(epoch, records, gateway)), { dictionary: DICTIONARY });
}

/** Puts a value at a path, making the objects on the way; [] is the payload itself. */
function place(target: { payload?: unknown }, path: string[], value: unknown): void {
  if (!path.length) {
    target.payload = value;
    return;
  }
  if (!isPlainObject(target.payload)) target.payload = {};
  let at = target.payload as Record<string, unknown>;
  for (const k of path.slice(0, -1)) {
    // own keys only: at["__proto__"] would be Object.prototype
    if (!Object.hasOwn(at, k) || !isPlainObject(at[k])) Object.defineProperty(at, k, { value: {}, enumerable: true, writable: true, configurable: true });
    at = at[k] as Record<string, unknown>;
  }
  // defined, not assigned: a key named "__proto__" is data here, as JSON.parse makes it
  Object.defineProperty(at, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
}

const isPlainObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The records of a column block, in their order; throws on a block this version cannot read. */
export function unpackColumns(block: ColumnBlock): ColumnRecord[] {
  if (block?.format !== 'columns' || block.v !== COLUMNS_VERSION) {
    throw new Error(`not a version ${COLUMNS_VERSION} column block (format ${JSON.stringify(block?.format)}, v ${JSON.stringify(block?.v)})`);
  }
  const seqs = block.seq.flatMap(([first, count]) => Array.from({ length: count }, (_, i) => first + i));
  const out: Array<ColumnRecord & { payload?: unknown }> = [];
  let ts = 0;
  seqs.forEach((seq, row) => {
    ts += block.ts[row];
    out.push({ seq, ts, topic: block.topics[block.topic ? block.topic[row] : 0], payload: undefined });
  });
  for (const shape of block.shapes) {
    shape.rows.forEach((row, i) => shape.paths.forEach((p, c) => place(out[row], p, shape.columns[c][i])));
  }
  return out;
}

/**
 * The most a publish may inflate to: an uplink packet is at most a few MiB inflated; a small hostile one could
 * inflate to gigabytes (a compression bomb) and take the receiver's memory.
 */
export const MAX_INFLATED_BYTES = 64 * 1_048_576;

export function decodeColumns(payload: Buffer): { epoch: string; gateway?: string; records: ColumnRecord[] } {
  const block = JSON.parse(zlib.inflateSync(payload, { dictionary: DICTIONARY, maxOutputLength: MAX_INFLATED_BYTES }).toString()) as ColumnBlock;
  return { epoch: block.epoch, ...(typeof block.gateway === 'string' ? { gateway: block.gateway } : {}), records: unpackColumns(block) };
}

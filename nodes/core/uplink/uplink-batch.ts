/**
 * What the uplink puts on the wire: each record in an envelope the cloud can de-duplicate and order by
 * ({id: "<epoch>:<seq>", gateway, seq, ts, topic, payload}), many records per publish (a JSON array or NDJSON, optionally
 * gzipped, or the deflated column layout of columns.ts), each publish within the broker's packet limit (e.g.
 * 128 KB for AWS IoT Core). Also the field filter that keeps site-only data on site, and the token bucket that
 * paces a backlog.
 */
import zlib from 'node:zlib';
import type { StoredRecord } from './durable-queue';
import { getPath, parsePath } from '../shared/message';
import { decodeColumns, encodeColumns, MAX_INFLATED_BYTES } from './columns';

/** the list a setting picks from is uplink-settings' BATCH_FORMATS (this module needs Node.js, the editor does not) */
export type BatchFormat = 'json' | 'ndjson' | 'columns';

export interface BatchOptions {
  /** records per publish at most */
  maxRecords: number;
  /** bytes per publish at most (the payload as sent, after compression) */
  maxPacketBytes: number;
  format: BatchFormat;
  /** json and ndjson only: columns are always deflated */
  gzip: boolean;
  /** the gateway's id, in every envelope (in a column block's header) */
  gateway?: string;
}

export interface Envelope {
  id: string;
  /** the sending gateway (edge-uplink's gateway id); absent from batches of versions before it */
  gateway?: string;
  seq: number;
  ts: number;
  topic: string;
  payload: unknown;
}

export interface Publish {
  topic: string;
  payload: Buffer;
  /** the queue ids it carries, in order */
  ids: number[];
  /** bytes of the records as single JSON publishes would have been (for the savings figure) */
  plainBytes: number;
}

export interface Plan {
  publishes: Publish[];
  /** records that cannot fit one packet even alone */
  tooLarge: number[];
}

export function envelope(epoch: string, r: StoredRecord, gateway?: string): Envelope {
  return { id: `${epoch}:${r.id}`, ...(gateway === undefined ? {} : { gateway }), seq: r.id, ts: r.ts, topic: r.topic, payload: JSON.parse(r.body) };
}

/**
 * The envelope as JSON text, written around the stored body as it is (the body is JSON already): the same text as
 * JSON.stringify(envelope(epoch, r)), without parsing the body and encoding it again.
 */
export function envelopeText(epoch: string, r: StoredRecord, gateway?: string): string {
  const from = gateway === undefined ? '' : `"gateway":${JSON.stringify(gateway)},`;
  return `{"id":${JSON.stringify(`${epoch}:${r.id}`)},${from}"seq":${r.id},"ts":${r.ts},"topic":${JSON.stringify(r.topic)},"payload":${r.body}}`;
}

function encode(items: Item[], epoch: string, o: BatchOptions): Buffer {
  if (o.format === 'columns') {
    // parsed once: a batch too big for a packet is encoded again in halves
    return encodeColumns(epoch, items.map((i) => ({ seq: i.r.id, ts: i.r.ts, topic: i.r.topic, payload: (i.payload ??= JSON.parse(i.r.body) as unknown) })), o.gateway);
  }
  const texts = items.map((i) => i.text);
  const text = o.format === 'ndjson' ? `${texts.join('\n')}\n` : `[${texts.join(',')}]`;
  return o.gzip ? zlib.gzipSync(text) : Buffer.from(text);
}

/** Compressed batches are sized once compressed; plain ones by arithmetic as they are filled. */
const compressed = (o: BatchOptions) => o.gzip || o.format === 'columns';

/** Bytes of n items of total length `length` once joined: "[a,b]" or "a\nb\n". */
function joinedBytes(n: number, length: number, format: BatchFormat): number {
  return format === 'ndjson' ? length + n : length + n + 1;
}

interface Item {
  r: StoredRecord;
  /** the body parsed, for columns */
  payload?: unknown;
  text: string;
  bytes: number;
}

/**
 * Groups records (oldest first) by their target topic into publishes of at most maxRecords records and
 * maxPacketBytes bytes, keeping each topic's order. A record too large for a packet on its own is reported.
 * Plain batches are sized by arithmetic; a compressed batch is compressed once and halved only if it is too big.
 */
export function planPublishes(records: StoredRecord[], epoch: string, target: (r: { topic: string }) => string, o: BatchOptions): Plan {
  const byTopic = new Map<string, StoredRecord[]>();
  for (const r of records) {
    const t = target(r);
    const list = byTopic.get(t);
    if (list) list.push(r);
    else byTopic.set(t, [r]);
  }
  const plan: Plan = { publishes: [], tooLarge: [] };
  const emit = (topic: string, items: Item[]): void => {
    const payload = encode(items, epoch, o);
    if (payload.length <= o.maxPacketBytes) {
      plan.publishes.push({ topic, payload, ids: items.map((i) => i.r.id), plainBytes: items.reduce((a, i) => a + i.bytes, 0) });
    } else if (items.length === 1) {
      plan.tooLarge.push(items[0].r.id);
    } else {
      const half = Math.ceil(items.length / 2);
      emit(topic, items.slice(0, half));
      emit(topic, items.slice(half));
    }
  };
  for (const [topic, list] of byTopic) {
    let items: Item[] = [];
    let length = 0;
    for (const r of list) {
      const text = envelopeText(epoch, r, o.gateway);
      const bytes = Buffer.byteLength(text);
      // compression decides at emit; plain sizes are known now
      const over = !compressed(o) && joinedBytes(items.length + 1, length + bytes, o.format) > o.maxPacketBytes;
      if (items.length && (items.length >= o.maxRecords || over)) {
        emit(topic, items);
        items = [];
        length = 0;
      }
      items.push({ r, text, bytes });
      length += bytes;
    }
    if (items.length) emit(topic, items);
  }
  return plan;
}

/**
 * The envelopes of a publish in any format, told apart by their first bytes: deflate (0x78, columns), gzip
 * (0x1f 0x8b) around JSON or NDJSON, a JSON array ("["), NDJSON ("{"). Throws on anything else, and on a payload that inflates beyond MAX_INFLATED_BYTES.
 */
export function decodePublish(payload: Buffer): Envelope[] {
  if (payload[0] === 0x78) {
    const { epoch, gateway, records } = decodeColumns(payload);
    const from = gateway === undefined ? {} : { gateway };
    return records.map((r) => ({ id: `${epoch}:${r.seq}`, ...from, seq: r.seq, ts: r.ts, topic: r.topic, payload: r.payload }));
  }
  const text = (payload[0] === 0x1f && payload[1] === 0x8b ? zlib.gunzipSync(payload, { maxOutputLength: MAX_INFLATED_BYTES }) : payload).toString().trimStart();
  if (text[0] === '[') return JSON.parse(text) as Envelope[];
  if (text[0] === '{') return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Envelope);
  throw new Error('not an edge-uplink batch: it is neither deflated columns, gzip, a JSON array nor NDJSON');
}

/**
 * Data residency: keeps only the allowed fields of an object payload (when an allowlist is set), then removes the
 * denied ones. Paths are property paths (`raw.waveform`, `a["b c"]`), checked at deploy by uplinkOptions (never
 * into the prototype chain). Non-object payloads pass unchanged; with no list set the payload is not copied.
 */
export function filterFields(payload: unknown, allow: string[], deny: string[]): unknown {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return payload;
  if (!allow.length && !deny.length) return payload;
  let out: Record<string, unknown> = payload as Record<string, unknown>;
  if (allow.length) {
    const kept: Record<string, unknown> = {};
    for (const path of allow) {
      const value = getPath(out, path);
      if (value !== undefined) setOwnPath(kept, parsePath(path), structuredClone(value));
    }
    out = kept;
  } else {
    out = structuredClone(out);
  }
  for (const path of deny) {
    const keys = parsePath(path);
    const parent = getPath(out, keys.slice(0, -1));
    if (parent && typeof parent === 'object') delete (parent as Record<string | number, unknown>)[keys[keys.length - 1]];
  }
  return out;
}

function setOwnPath(o: Record<string, unknown>, keys: Array<string | number>, value: unknown): void {
  let at = o as Record<string | number, unknown>;
  for (const k of keys.slice(0, -1)) {
    if (!at[k] || typeof at[k] !== 'object') at[k] = {};
    at = at[k] as Record<string | number, unknown>;
  }
  at[keys[keys.length - 1]] = value;
}

/** Paces sending: at most `rate` units per second with bursts up to `burst`; 0 = unlimited. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly rate: number, private readonly burst: number, now = Date.now()) {
    this.tokens = burst;
    this.last = now;
  }

  /** How long to wait before `amount` may go (0: now, and it is taken). */
  take(amount: number, now = Date.now()): number {
    if (!(this.rate > 0)) return 0;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    // an amount larger than the burst goes once the bucket is full, so it is never stuck
    const need = Math.min(amount, this.burst);
    if (this.tokens >= need) {
      this.tokens -= amount;
      return 0;
    }
    return Math.ceil(((need - this.tokens) / this.rate) * 1000);
  }
}

/**
 * Windows over one stream of samples (numbers, or objects of named numbers): count windows (N, hopping by M),
 * time windows tumbling or hopping (aligned to the clock or to the first sample; processing or event time with an
 * allowed lateness), and sliding time windows (one result per sample over the last T). Each field of an object
 * payload gets its own statistics. Results carry the window bounds and, on request, a feature vector.
 */
import { WindowStats, StatisticKey, needsOrder } from './window-stats';
import type { Problem } from '../shared/fields';
import { significant } from '../shared/values';

export type WindowKind = 'count' | 'tumbling' | 'hopping' | 'sliding';

export interface WindowOptions {
  kind: WindowKind;
  /** count: samples; time windows: ms */
  size: number;
  /** count: emit every `hop` samples (default size); hopping: ms between window starts */
  hop?: number;
  /** time windows: 'clock' = starts at multiples of the hop since 1970; 'first' = from the stream's first sample */
  align: 'clock' | 'first';
  /** event time: a window closes when a sample at least `lateness` ms past its end arrives */
  time: 'processing' | 'event';
  lateness: number;
  statistics: StatisticKey[];
  /** samples kept per window and field; beyond, samples are refused and counted */
  maxSamples: number;
  /** fields an object sample may bring a stream at most (default 1000); a sample with more is refused */
  maxFields?: number;
  /** results carry copies of their samples (for feature vectors of raw or resampled samples) */
  samples?: boolean;
}

export type Sample = number | Record<string, number>;

export interface WindowResult {
  start: number;
  end: number;
  count: number;
  /** statistics of a number stream, or per field for object samples */
  stats: Record<string, number | null> | Record<string, Record<string, number | null>>;
  /** the samples of a field (oldest first) with their times, when the options ask for them */
  samples(field: string): { values: number[]; times: number[] } | undefined;
  /** true when flushed before its end (msg.flush, redeploy) */
  partial: boolean;
  /** fields in the order they were first seen */
  fields: readonly string[];
  /** the stream's samples were numbers, not objects */
  scalar: boolean;
}

export interface AddOutcome {
  results: WindowResult[];
  /** why the sample was not used: late (its window closed), the window is full, or too many fields */
  refused?: 'late' | 'full' | 'fields';
}

const SCALAR = '';
const SCALAR_FIELDS: readonly string[] = Object.freeze([SCALAR]);

/** Statistics rounded to `digits` significant digits (0 = as computed): less to send, nothing a sensor can resolve lost. */
export function roundStats<T extends WindowResult['stats']>(stats: T, digits: number): T {
  if (!digits) return stats;
  // a count is exact; everything else is a measurement
  const roundAll = (values: Record<string, number | null>) => {
    const out: Record<string, number | null> = {};
    for (const name in values) {
      const v = values[name];
      out[name] = v === null || name === 'count' ? v : significant(v, digits);
    }
    return out;
  };
  const first = Object.values(stats)[0];
  if (first === undefined || first === null || typeof first === 'number') return roundAll(stats as Record<string, number | null>) as T;
  const out: Record<string, Record<string, number | null>> = {};
  for (const field in stats) out[field] = roundAll((stats as Record<string, Record<string, number | null>>)[field]);
  return out as T;
}

/** Problems with window settings, as message keys with their values (empty when valid). */
export function validateWindow(o: WindowOptions): Problem[] {
  const problems: Problem[] = [];
  const add = (key: string, vars?: Record<string, unknown>) => problems.push(vars ? { key, vars } : { key });
  if (!['count', 'tumbling', 'hopping', 'sliding'].includes(o.kind)) add('windowKind');
  if (!(o.size > 0) || (o.kind === 'count' && !Number.isInteger(o.size))) add(o.kind === 'count' ? 'countSize' : 'size');
  if (o.kind === 'count' && o.hop !== undefined && !(Number.isInteger(o.hop) && o.hop >= 1 && o.hop <= o.size)) add('countHop');
  if (o.kind === 'hopping' && !(o.hop! > 0 && o.hop! <= o.size)) add('hop');
  else if (o.kind === 'hopping' && o.size / o.hop! > 1000) add('overlap');
  if (!(o.lateness >= 0)) add('lateness');
  if (o.maxFields !== undefined && !(Number.isInteger(o.maxFields) && o.maxFields >= 1 && o.maxFields <= 100_000)) add('maxFields');
  if (!(Number.isInteger(o.maxSamples) && o.maxSamples >= 1)) add('maxSamples');
  else if (o.kind === 'count' && o.size > o.maxSamples) add('countAboveLimit', { size: o.size, max: o.maxSamples });
  return problems;
}

/** The statistics of one window: one WindowStats per field. */
class Fields {
  readonly byField = new Map<string, WindowStats>();
  /** message sequence number of each stored value, per field (count windows evict by message) */
  readonly seqs = new Map<string, { items: number[]; head: number }>();

  constructor(private readonly withOrder: boolean) {}

  add(sample: Sample, t: number, seq: number): void {
    if (typeof sample === 'number') this.put(SCALAR, sample, t, seq);
    else for (const field of Object.keys(sample)) this.put(field, sample[field], t, seq);
  }

  private put(field: string, x: number, t: number, seq: number): void {
    let w = this.byField.get(field);
    if (!w) {
      this.byField.set(field, (w = new WindowStats(this.withOrder)));
      this.seqs.set(field, { items: [], head: 0 });
    }
    w.add(x, t);
    this.seqs.get(field)!.items.push(seq);
  }

  /** Drops every value of messages before sequence number `seq`. */
  evictBeforeSeq(seq: number): void {
    for (const [field, w] of this.byField) {
      const seqs = this.seqs.get(field)!;
      while (seqs.head < seqs.items.length && seqs.items[seqs.head] < seq) {
        w.evict();
        seqs.head++;
      }
      compact(seqs);
      this.dropIfEmpty(field, w);
    }
  }

  /** A field that no longer has samples in the window goes, so fields seen once do not stay for good. */
  private dropIfEmpty(field: string, w: WindowStats): void {
    if (w.count > 0) return;
    this.byField.delete(field);
    this.seqs.delete(field);
  }

  evictBefore(t: number): void {
    for (const [field, w] of this.byField) {
      const before = w.count;
      w.evictBefore(t);
      const seqs = this.seqs.get(field)!;
      seqs.head += before - w.count;
      compact(seqs);
      this.dropIfEmpty(field, w);
    }
  }

  largest(): number {
    let n = 0;
    for (const w of this.byField.values()) n = Math.max(n, w.count);
    return n;
  }
}

/** Samples sorted by time (stable), for feature vectors; in-order samples (the usual case) are only checked. */
function inTimeOrder(values: number[], times: number[]): { values: number[]; times: number[] } {
  let sorted = true;
  for (let i = 1; i < times.length && sorted; i++) sorted = times[i - 1] <= times[i];
  if (sorted) return { values, times };
  const idx = times.map((_, i) => i).sort((a, b) => times[a] - times[b] || a - b);
  return { values: idx.map((i) => values[i]), times: idx.map((i) => times[i]) };
}

/** Drops the consumed front of a sequence list now and then (amortised O(1)). */
function compact(seqs: { items: number[]; head: number }): void {
  if (seqs.head > 1024 && seqs.head * 2 > seqs.items.length) {
    seqs.items = seqs.items.slice(seqs.head);
    seqs.head = 0;
  }
}

export class StreamWindows {
  private seq = 0;
  private count?: Fields;
  /** open time windows by start */
  private readonly open = new Map<number, Fields>();
  private sliding?: Fields;
  /** count windows: sequence number of the first sample of the window in progress */
  private windowStartSeq = 0;
  private firstTime: number | undefined;
  /** end of the newest window already emitted: samples before it are late */
  private closedUntil = -Infinity;
  private watermark = -Infinity;
  /** windows starting before this were already sent partial by a flush: what they get later is partial too */
  private partialBefore = -Infinity;
  /** fields in the order first seen (a Set: checking a field is O(1), so a wide sample costs linear time) */
  private fieldOrder = new Set<string>();
  private scalar = true;
  private readonly withOrder: boolean;
  lastActivity = 0;
  readonly counters = { late: 0, full: 0, fields: 0 };

  constructor(readonly options: WindowOptions) {
    this.withOrder = needsOrder(options.statistics);
  }

  /** Notes an object sample's fields; false when it would bring the stream more fields than allowed. */
  private note(sample: Sample): boolean {
    if (typeof sample === 'number') return true;
    const max = this.options.maxFields ?? 1000;
    const fields = Object.keys(sample);
    if (fields.length > max) return false;
    let added = 0;
    for (const f of fields) if (!this.fieldOrder.has(f)) added++;
    if (this.fieldOrder.size + added > max) {
      // fields that left every window go first (amortised: only when the limit is reached)
      this.fieldOrder = new Set([...this.fieldOrder].filter((f) => this.holds(f)));
      added = fields.filter((f) => !this.fieldOrder.has(f)).length;
      if (this.fieldOrder.size + added > max) return false;
    }
    this.scalar = false;
    for (const f of fields) this.fieldOrder.add(f);
    return true;
  }

  private holds(field: string): boolean {
    if (this.count?.byField.has(field) || this.sliding?.byField.has(field)) return true;
    for (const w of this.open.values()) if (w.byField.has(field)) return true;
    return false;
  }

  /** Adds one sample at time t (ms); returns the windows it completed. */
  add(sample: Sample, t: number, now = t): AddOutcome {
    this.lastActivity = now;
    if (!this.note(sample)) return this.refuse('fields');
    const o = this.options;
    const seq = this.seq++;
    if (o.kind === 'count') {
      const w = (this.count ??= new Fields(this.withOrder));
      if (w.largest() >= o.maxSamples && o.size > o.maxSamples) return this.refuse('full');
      w.add(sample, t, seq);
      w.evictBeforeSeq(Math.max(seq - o.size + 1, this.windowStartSeq));
      if (seq - this.windowStartSeq + 1 < o.size) return { results: [] };
      const result = this.result(w, NaN, NaN, false);
      // the next window starts `hop` samples later (tumbling: right after this one); what it does not hold goes now,
      // so a flush cannot send this window a second time
      this.windowStartSeq += o.hop ?? o.size;
      w.evictBeforeSeq(this.windowStartSeq);
      return { results: [result] };
    }
    if (o.kind === 'sliding') {
      const w = (this.sliding ??= new Fields(this.withOrder));
      if (t < this.watermark) return this.refuse('late');
      this.watermark = t;
      w.evictBefore(t - o.size + 1);
      if (w.largest() >= o.maxSamples) return this.refuse('full');
      w.add(sample, t, seq);
      // the window holds (t - size, t]: as [start, end) in whole ms
      return { results: [this.result(w, t - o.size + 1, t + 1, false)] };
    }
    // tumbling / hopping time windows
    this.firstTime ??= t;
    const results = o.time === 'event' ? this.closeUntil(t - o.lateness) : [];
    // a sample is late when every window it belongs to has been emitted already
    const closed = Math.max(this.closedUntil, this.watermark);
    const starts = this.startsFor(t).filter((start) => start + o.size > closed);
    if (starts.length === 0) {
      this.counters.late++;
      return { results, refused: 'late' };
    }
    let full = false;
    for (const start of starts) {
      let w = this.open.get(start);
      if (!w) this.open.set(start, (w = new Fields(this.withOrder)));
      if (w.largest() >= o.maxSamples) full = true;
      else w.add(sample, t, seq);
    }
    if (full) this.counters.full++;
    return full ? { results, refused: 'full' } : { results };
  }

  private refuse(why: 'late' | 'full' | 'fields'): AddOutcome {
    this.counters[why]++;
    return { results: [], refused: why };
  }

  private get hopMs(): number {
    return this.options.kind === 'hopping' ? this.options.hop! : this.options.size;
  }

  /** Starts of every window that contains time t. */
  private startsFor(t: number): number[] {
    const hop = this.hopMs;
    const origin = this.options.align === 'first' ? this.firstTime! : 0;
    const last = origin + Math.floor((t - origin) / hop) * hop;
    const starts: number[] = [];
    // aligned to the first sample, no window starts before the stream did
    const earliest = this.options.align === 'first' ? this.firstTime! : -Infinity;
    for (let s = last; s > t - this.options.size && s >= earliest; s -= hop) starts.push(s);
    return starts.reverse();
  }

  /** Emits every open time window that ends at or before `until`, oldest first. */
  closeUntil(until: number): WindowResult[] {
    this.watermark = Math.max(this.watermark, until);
    const due = [...this.open.keys()].filter((s) => s + this.options.size <= until).sort((a, b) => a - b);
    const results: WindowResult[] = [];
    for (const start of due) {
      const w = this.open.get(start)!;
      this.open.delete(start);
      this.closedUntil = Math.max(this.closedUntil, start + this.options.size);
      results.push(this.result(w, start, start + this.options.size, start < this.partialBefore));
    }
    return results;
  }

  /**
   * The current window(s) as they are (msg.flush, or a partial window on close), and the stream starts afresh.
   * A sliding window has nothing pending: each of its results went out with its sample.
   */
  flush(): WindowResult[] {
    const results: WindowResult[] = [];
    if (this.count && this.count.largest() > 0) results.push(this.result(this.count, NaN, NaN, true));
    let flushedUntil = this.partialBefore;
    for (const start of [...this.open.keys()].sort((a, b) => a - b)) {
      results.push(this.result(this.open.get(start)!, start, start + this.options.size, true));
      flushedUntil = Math.max(flushedUntil, start + this.options.size);
    }
    const { closedUntil, watermark, firstTime } = this;
    this.reset();
    // time keeps its course: what was late stays late, and a window reopened in a flushed period is partial
    Object.assign(this, { closedUntil, watermark, firstTime, partialBefore: flushedUntil });
    return results;
  }

  /** Forgets the stream entirely. */
  reset(): void {
    this.count = undefined;
    this.sliding = undefined;
    this.open.clear();
    this.windowStartSeq = 0;
    this.seq = 0;
    this.closedUntil = -Infinity;
    this.watermark = -Infinity;
    this.partialBefore = -Infinity;
    this.firstTime = undefined;
    this.fieldOrder = new Set();
    this.scalar = true;
  }

  private result(w: Fields, start: number, end: number, partial: boolean): WindowResult {
    const windows = w.byField;
    // copied now, in time order: the window moves on as soon as this result is out
    const copies = this.options.samples ? new Map<string, { values: number[]; times: number[] }>() : undefined;
    if (copies) for (const [field, ws] of windows) copies.set(field, inTimeOrder(ws.values(), ws.times()));
    let count = 0;
    let first = Infinity;
    let last = -Infinity;
    // a number stream has one field: its statistics are the result's, with no object around them
    const scalar = this.scalar;
    let only: Record<string, number | null> | undefined;
    const stats: Record<string, Record<string, number | null>> = {};
    for (const [field, ws] of windows) {
      const fieldStats = ws.result(this.options.statistics);
      if (scalar) only = fieldStats;
      else stats[field] = fieldStats;
      count = Math.max(count, ws.count);
      if (ws.count) {
        first = Math.min(first, ws.oldestTime());
        last = Math.max(last, ws.newestTime());
      }
    }
    return {
      // count windows span their samples
      start: Number.isNaN(start) ? first : start,
      end: Number.isNaN(end) ? last : end,
      count,
      stats: scalar ? only ?? {} : stats,
      samples: (field) => copies?.get(field),
      partial,
      fields: scalar ? SCALAR_FIELDS : [...this.fieldOrder].filter((f) => windows.has(f)),
      scalar,
    };
  }
}

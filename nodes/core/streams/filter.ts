/**
 * Per-stream cleaning of one numeric value per message, in a fixed order: quality, numeric check, range, outlier
 * rejection, report by exception (deadband with heartbeat), rate limit. Every rejection has a reason, so nothing
 * disappears silently.
 */
import type { Quality } from '../shared/message';

export type { Quality };
export type RangeAction = 'drop' | 'clamp' | 'mark-bad';
export type QualityPolicy = 'good' | 'good-uncertain' | 'all';
export type OutlierMethod = 'none' | 'zscore' | 'mad';
export type DeadbandMode = 'none' | 'absolute' | 'percent';
export type RateMode = 'none' | 'first' | 'latest' | 'average';

export interface FilterOptions {
  quality: QualityPolicy;
  min?: number;
  max?: number;
  rangeAction: RangeAction;
  outlier: OutlierMethod;
  /** samples in the rolling window the outlier test compares with */
  outlierWindow: number;
  /** score above which a sample is an outlier (z-score, or robust z-score for MAD) */
  outlierThreshold: number;
  /** this many outliers in a row on the same side are a real step: accepted, and the window restarts from them */
  stepAfter: number;
  /**
   * the smallest spread the outlier test assumes (the sensor's resolution): quantised data whose window is mostly
   * one value would otherwise make every other value an outlier
   */
  outlierResolution?: number;
  deadband: DeadbandMode;
  deadbandValue: number;
  /** compare with the last value sent, or with the last value received */
  deadbandCompare: 'sent' | 'input';
  /** send anyway after this many ms without a send (0 = off) */
  heartbeatMs: number;
  rate: RateMode;
  rateMs: number;
}

/** `fields`: an object with more value fields than the node keeps streams (each field is a stream) */
export type RejectReason = 'quality' | 'not-numeric' | 'range' | 'outlier' | 'deadband' | 'rate' | 'fields';

export type Decision =
  | { action: 'pass'; value: number; quality?: Quality; note?: 'clamped' | 'step' }
  | { action: 'reject'; reason: RejectReason; detail: string }
  /** kept for the end of the rate-limit interval */
  | { action: 'hold' };

/**
 * Most readings of a stream reported by exception end here, and only a node set to report them reads the words:
 * they are written when asked for, not for every reading.
 */
class DeadbandRejection {
  readonly action = 'reject' as const;
  readonly reason = 'deadband' as const;
  constructor(private readonly value: number, private readonly reference: number) {}
  get detail(): string {
    return `${this.value} is within the deadband of ${this.reference}`;
  }
}

/** Problems with filter settings, as message keys (empty when valid). */
export function validateFilter(o: FilterOptions): string[] {
  const problems: string[] = [];
  if (o.min !== undefined && !Number.isFinite(o.min)) problems.push('min');
  if (o.max !== undefined && !Number.isFinite(o.max)) problems.push('max');
  if (o.min !== undefined && o.max !== undefined && o.min > o.max) problems.push('minAboveMax');
  if (o.outlier !== 'none') {
    if (o.outlierResolution !== undefined && !(o.outlierResolution >= 0)) problems.push('resolution');
    if (!(Number.isInteger(o.outlierWindow) && o.outlierWindow >= 5 && o.outlierWindow <= 10_000)) problems.push('outlierWindow');
    if (!(o.outlierThreshold > 0)) problems.push('outlierThreshold');
    if (!(Number.isInteger(o.stepAfter) && o.stepAfter >= 1)) problems.push('stepAfter');
  }
  if (o.deadband !== 'none' && !(o.deadbandValue >= 0)) problems.push('deadband');
  if (!(o.heartbeatMs >= 0)) problems.push('heartbeat');
  if (o.rate !== 'none' && !(o.rateMs > 0)) problems.push('rate');
  return problems;
}

function median(sorted: number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/**
 * How far x lies from the window: |z| (mean/stddev) or the robust z of the median and MAD. The spread is at least
 * `resolution`; with no spread at all, any other value is infinitely far.
 */
export function outlierScore(window: number[], x: number, method: 'zscore' | 'mad', resolution = 0): number {
  if (method === 'zscore') {
    // loops, not reduce: this runs for every reading of every stream
    let sum = 0;
    for (let i = 0; i < window.length; i++) sum += window[i];
    const mean = sum / window.length;
    let squares = 0;
    for (let i = 0; i < window.length; i++) squares += (window[i] - mean) ** 2;
    const sd = Math.max(resolution, Math.sqrt(squares / window.length));
    if (sd === 0) return x === mean ? 0 : Infinity;
    return Math.abs(x - mean) / sd;
  }
  const sorted = [...window].sort((a, b) => a - b);
  const m = median(sorted);
  // 0.6745 makes the MAD of normal data comparable with its standard deviation
  const mad = Math.max(0.6745 * resolution, median(sorted.map((v) => Math.abs(v - m)).sort((a, b) => a - b)));
  if (mad === 0) return x === m ? 0 : Infinity;
  return (0.6745 * Math.abs(x - m)) / mad;
}

export class StreamFilter {
  private history: number[] = [];
  private pendingStep: number[] = [];
  private stepSide = 0;
  private lastInput: number | undefined;
  private lastSent: number | undefined;
  private lastSentAt = -Infinity;
  private rateStart = -Infinity;
  /** rate limit 'latest'/'average': the values of the interval, as a running sum (memory stays flat) */
  private held = { count: 0, sum: 0, last: 0 };
  /** quality of the last value sent (a heartbeat repeats it) */
  private sentQuality: Quality | undefined;
  /** the newest value that passed the checks (a heartbeat sends it, not an older one) */
  private lastAccepted: number | undefined;
  /** inputs were rejected since the last send: a heartbeat then says the value is uncertain */
  private rejectedSinceSend = false;
  readonly counters: Record<Exclude<RejectReason, 'fields'>, number> = { quality: 0, 'not-numeric': 0, range: 0, outlier: 0, deadband: 0, rate: 0 };

  constructor(readonly o: FilterOptions) {}

  private reject(reason: Exclude<RejectReason, 'fields'>, detail: string): Decision {
    this.counters[reason]++;
    if (reason !== 'deadband' && reason !== 'rate') this.rejectedSinceSend = true;
    return { action: 'reject', reason, detail };
  }

  process(raw: unknown, quality: Quality | undefined, now: number): Decision {
    const q = quality ?? 'good';
    if ((q === 'bad' && this.o.quality !== 'all') || (q === 'uncertain' && this.o.quality === 'good')) {
      return this.reject('quality', `quality is ${q}`);
    }
    const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return this.reject('not-numeric', `value ${typeof raw === 'string' ? `"${raw}"` : String(raw)} is not a finite number`);
    }
    let x = value;
    let outQuality: Quality | undefined = quality;
    let note: 'clamped' | 'step' | undefined;
    const { min, max } = this.o;
    if ((min !== undefined && x < min) || (max !== undefined && x > max)) {
      const bounds = `${min ?? '-∞'} to ${max ?? '∞'}`;
      if (this.o.rangeAction === 'drop') return this.reject('range', `${x} is outside ${bounds}`);
      if (this.o.rangeAction === 'clamp') {
        x = Math.min(max ?? Infinity, Math.max(min ?? -Infinity, x));
        note = 'clamped';
      } else {
        outQuality = 'bad';
      }
    }
    if (this.o.outlier !== 'none' && outQuality !== 'bad') {
      const verdict = this.checkOutlier(x);
      if (verdict === 'outlier') return this.reject('outlier', `${x} is an outlier (${this.o.outlier} score above ${this.o.outlierThreshold})`);
      if (verdict === 'step') note = 'step';
    }
    const previousInput = this.lastInput;
    this.lastInput = x;
    this.lastAccepted = x;
    const heartbeatDue = this.o.heartbeatMs > 0 && now - this.lastSentAt >= this.o.heartbeatMs;
    // a change of quality is news even when the value did not move
    const qualityChanged = (outQuality ?? 'good') !== (this.sentQuality ?? 'good');
    if (this.o.deadband !== 'none' && !heartbeatDue && note !== 'step' && !qualityChanged) {
      const ref = this.o.deadbandCompare === 'input' ? previousInput : this.lastSent;
      if (ref !== undefined) {
        const band = this.o.deadband === 'absolute' ? this.o.deadbandValue : (Math.abs(ref) * this.o.deadbandValue) / 100;
        if (Math.abs(x - ref) <= band) {
          this.counters.deadband++;
          return new DeadbandRejection(x, ref);
        }
      }
    }
    if (this.o.rate !== 'none') {
      const inInterval = now - this.rateStart < this.o.rateMs;
      if (this.o.rate === 'first') {
        if (inInterval) {
          // not received as far as the deadband is concerned: the next value is compared with the one before
          this.lastInput = previousInput;
          return this.reject('rate', 'a value was already sent in this interval');
        }
        this.rateStart = now;
      } else {
        if (!inInterval && this.held.count === 0) this.rateStart = now;
        this.held = { count: this.held.count + 1, sum: this.held.sum + x, last: x };
        this.heldQuality = outQuality;
        return { action: 'hold' };
      }
    }
    return this.sent(x, outQuality, now, note);
  }

  private heldQuality: Quality | undefined;

  private sent(x: number, quality: Quality | undefined, now: number, note?: 'clamped' | 'step'): Decision {
    this.lastSent = x;
    this.lastSentAt = now;
    this.sentQuality = quality;
    this.rejectedSinceSend = false;
    return note ? { action: 'pass', value: x, quality, note } : { action: 'pass', value: x, quality };
  }

  /** Outlier test against the rolling window; a run of outliers on one side becomes the new level. */
  private checkOutlier(x: number): 'ok' | 'outlier' | 'step' {
    const warm = this.history.length >= Math.min(this.o.outlierWindow, 5);
    const score = warm ? outlierScore(this.history, x, this.o.outlier as 'zscore' | 'mad', this.o.outlierResolution ?? 0) : 0;
    if (score <= this.o.outlierThreshold) {
      this.pendingStep = [];
      this.stepSide = 0;
      this.remember(x);
      return 'ok';
    }
    const side = Math.sign(x - this.history.reduce((s, v) => s + v, 0) / this.history.length);
    if (side !== this.stepSide) this.pendingStep = [];
    this.stepSide = side;
    this.pendingStep.push(x);
    if (this.pendingStep.length < this.o.stepAfter) return 'outlier';
    // a real step: the level moved; judge what follows against the new level
    this.history = [...this.pendingStep];
    this.pendingStep = [];
    this.stepSide = 0;
    return 'step';
  }

  private remember(x: number): void {
    this.history.push(x);
    if (this.history.length > this.o.outlierWindow) this.history.shift();
  }

  /**
   * What the clock owes now: the end of a rate-limit interval (latest or average of the held values), or a
   * heartbeat with the newest accepted value, marked uncertain when inputs were rejected since the last send.
   */
  due(now: number): { value: number; quality?: Quality; heartbeat?: true } | undefined {
    if (this.held.count > 0 && now - this.rateStart >= this.o.rateMs) {
      const value = this.o.rate === 'average' ? this.held.sum / this.held.count : this.held.last;
      this.held = { count: 0, sum: 0, last: 0 };
      this.rateStart = now;
      const d = this.sent(value, this.heldQuality, now) as { value: number; quality?: Quality };
      return { value: d.value, quality: d.quality };
    }
    if (this.o.heartbeatMs > 0 && this.lastSent !== undefined && this.held.count === 0 && now - this.lastSentAt >= this.o.heartbeatMs) {
      const value = this.lastAccepted ?? this.lastSent;
      const quality: Quality | undefined = this.rejectedSinceSend ? 'uncertain' : this.sentQuality;
      this.lastSent = value;
      this.lastSentAt = now;
      return { value, quality, heartbeat: true };
    }
    return undefined;
  }
}

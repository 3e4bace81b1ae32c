/**
 * Statistics of a window of samples that grows at the new end and shrinks at the old end, each sample costing
 * O(1) for the streaming statistics whatever the window length:
 * - count, sum, mean, variance, stddev, rms, slope: running sums, shifted by a reference value and time to keep
 *   precision, and recomputed from the samples every window-length evictions so rounding cannot drift;
 * - min, max: monotonic deques;
 * - first, last, rate: the samples of the earliest and the latest time, found by monotonic deques over time, so a
 *   late sample (a slow sensor, a clock stepped back) costs no more than one in order;
 * - median and percentiles: an order-statistics structure (kept only when asked for).
 * Variance and stddev are population figures (÷n); slope and rate are per second.
 */
import { OrderStatistics } from './order-statistics';
import type { Problem } from '../shared/fields';

export const STATISTICS = [
  'count', 'sum', 'mean', 'min', 'max', 'first', 'last', 'range', 'stddev', 'variance', 'median', 'rms', 'slope', 'rate',
] as const;
export type StatisticName = (typeof STATISTICS)[number];
/** a statistic or a percentile such as p90, p99.9 */
export type StatisticKey = StatisticName | `p${number}`;

const PERCENTILE = /^p(\d{1,2}(\.\d+)?|100)$/;

/** Checks a list of statistic names; returns problems as message keys (empty when valid). */
export function validateStatistics(names: string[]): Problem[] {
  if (!Array.isArray(names) || names.length === 0) return [{ key: 'noStatistics' }];
  return names
    .filter((n) => !(STATISTICS as readonly string[]).includes(n) && !PERCENTILE.test(n))
    .map((n) => ({ key: 'statistic', vars: { name: n.slice(0, 40), list: STATISTICS.join(', ') } }));
}

export function needsOrder(names: readonly string[]): boolean {
  return names.some((n) => n === 'median' || PERCENTILE.test(n));
}

/** A deque of numbers on an array with a moving head, compacted now and then. */
class Deque {
  items: number[] = [];
  head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(v: number): void {
    this.items.push(v);
  }

  front(): number {
    return this.items[this.head];
  }

  back(): number {
    return this.items[this.items.length - 1];
  }

  shift(): number {
    const v = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }

  pop(): number {
    return this.items.pop()!;
  }

  at(i: number): number {
    return this.items[this.head + i];
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class WindowStats {
  private readonly xs = new Deque();
  private readonly ts = new Deque();
  /** sample ids: the oldest in the window is `removed`, the next to come is `added` */
  private added = 0;
  private removed = 0;
  private readonly minIds = new Deque();
  private readonly maxIds = new Deque();
  /** the earliest time's sample at the front (the first to arrive among equal times), and the latest's */
  private readonly earliestIds = new Deque();
  private readonly latestIds = new Deque();
  private readonly order: OrderStatistics | undefined;
  private k = 0; // value shift
  private t0 = 0; // time shift, ms
  private s1 = 0; // Σ(x-k)
  private s2 = 0; // Σ(x-k)²
  private st = 0; // Σt, t in s since t0
  private stt = 0; // Σt²
  private sxt = 0; // Σ(x-k)t
  private evictionsSinceRecompute = 0;

  constructor(withOrder: boolean) {
    this.order = withOrder ? new OrderStatistics() : undefined;
  }

  get count(): number {
    return this.added - this.removed;
  }

  private x(id: number): number {
    return this.xs.at(id - this.removed);
  }

  private t(id: number): number {
    return this.ts.at(id - this.removed);
  }

  /** The earliest time in the window (not the first to arrive: samples may come late). */
  oldestTime(): number {
    return this.t(this.earliestIds.front());
  }

  newestTime(): number {
    return this.t(this.latestIds.front());
  }

  /** Samples oldest first. */
  values(): number[] {
    return this.xs.items.slice(this.xs.head);
  }

  times(): number[] {
    return this.ts.items.slice(this.ts.head);
  }

  add(x: number, tMs: number): void {
    if (this.count === 0) this.rebase(x, tMs);
    const dx = x - this.k;
    const t = (tMs - this.t0) / 1000;
    this.s1 += dx;
    this.s2 += dx * dx;
    this.st += t;
    this.stt += t * t;
    this.sxt += dx * t;
    const id = this.added++;
    this.xs.push(x);
    this.ts.push(tMs);
    while (this.minIds.length > 0 && this.x(this.minIds.back()) >= x) this.minIds.pop();
    this.minIds.push(id);
    while (this.maxIds.length > 0 && this.x(this.maxIds.back()) <= x) this.maxIds.pop();
    this.maxIds.push(id);
    while (this.earliestIds.length > 0 && this.t(this.earliestIds.back()) > tMs) this.earliestIds.pop();
    this.earliestIds.push(id);
    while (this.latestIds.length > 0 && this.t(this.latestIds.back()) <= tMs) this.latestIds.pop();
    this.latestIds.push(id);
    this.order?.insert(x);
  }

  /** Drops the oldest sample. */
  evict(): void {
    if (this.count === 0) return;
    const x = this.xs.shift();
    const tMs = this.ts.shift();
    const id = this.removed++;
    if (this.minIds.front() === id) this.minIds.shift();
    if (this.maxIds.front() === id) this.maxIds.shift();
    if (this.earliestIds.front() === id) this.earliestIds.shift();
    if (this.latestIds.front() === id) this.latestIds.shift();
    this.order?.delete(x);
    if (this.count === 0) {
      this.s1 = this.s2 = this.st = this.stt = this.sxt = 0;
      return;
    }
    const dx = x - this.k;
    const t = (tMs - this.t0) / 1000;
    this.s1 -= dx;
    this.s2 -= dx * dx;
    this.st -= t;
    this.stt -= t * t;
    this.sxt -= dx * t;
    // subtracting leaves rounding behind; recomputing once per window length keeps it O(1) amortised
    if (++this.evictionsSinceRecompute >= Math.max(64, this.count)) this.recompute();
  }

  /** Drops samples older than tMs. */
  evictBefore(tMs: number): void {
    while (this.count > 0 && this.ts.front() < tMs) this.evict();
  }

  clear(): void {
    this.xs.clear();
    this.ts.clear();
    this.minIds.clear();
    this.maxIds.clear();
    this.earliestIds.clear();
    this.latestIds.clear();
    this.order?.clear();
    this.removed = this.added;
    this.s1 = this.s2 = this.st = this.stt = this.sxt = 0;
  }

  private rebase(k: number, t0: number): void {
    this.k = k;
    this.t0 = t0;
  }

  private recompute(): void {
    this.evictionsSinceRecompute = 0;
    this.rebase(this.xs.front(), this.ts.front());
    this.s1 = this.s2 = this.st = this.stt = this.sxt = 0;
    for (let i = 0; i < this.count; i++) {
      const dx = this.xs.at(i) - this.k;
      const t = (this.ts.at(i) - this.t0) / 1000;
      this.s1 += dx;
      this.s2 += dx * dx;
      this.st += t;
      this.stt += t * t;
      this.sxt += dx * t;
    }
  }

  /** One statistic; null where it is undefined (an empty window, a slope of one sample). */
  get(name: StatisticKey): number | null {
    const n = this.count;
    if (name === 'count') return n;
    if (name === 'sum') return n === 0 ? 0 : n * this.k + this.s1;
    if (n === 0) return null;
    const mean1 = this.s1 / n;
    switch (name) {
      case 'mean': return this.k + mean1;
      case 'min': return this.x(this.minIds.front());
      case 'max': return this.x(this.maxIds.front());
      case 'first': return this.x(this.earliestIds.front());
      case 'last': return this.x(this.latestIds.front());
      case 'range': return this.x(this.maxIds.front()) - this.x(this.minIds.front());
      case 'variance': return Math.max(0, this.s2 / n - mean1 * mean1);
      case 'stddev': return Math.sqrt(Math.max(0, this.s2 / n - mean1 * mean1));
      case 'rms': return Math.sqrt(Math.max(0, (this.s2 + 2 * this.k * this.s1) / n + this.k * this.k));
      case 'slope': {
        const meanT = this.st / n;
        const varT = this.stt / n - meanT * meanT;
        if (n < 2 || !(varT > 1e-12 * Math.max(1, meanT * meanT))) return null;
        return (this.sxt / n - meanT * mean1) / varT;
      }
      case 'rate': {
        const dt = (this.newestTime() - this.oldestTime()) / 1000;
        return n < 2 || dt === 0 ? null : (this.x(this.latestIds.front()) - this.x(this.earliestIds.front())) / dt;
      }
      case 'median': return this.percentile(50);
      default: return this.percentile(Number(name.slice(1)));
    }
  }

  private percentile(p: number): number {
    if (!this.order) throw new Error('percentiles were not enabled for this window');
    return this.order.quantile(p / 100);
  }

  /** Several statistics by name, in the order asked. */
  result(names: readonly StatisticKey[]): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const name of names) out[name] = this.get(name);
    return out;
  }
}

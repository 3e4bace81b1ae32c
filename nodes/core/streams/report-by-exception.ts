/**
 * Statistics reported by exception: a window of one stream goes out when the mean of any of its fields moved
 * beyond the deadband from the last one sent (absolute, or percent of that one), when a field appears or goes, or
 * when the heartbeat is due; otherwise it is held back. Times are the windows' ends, so event-time
 * windows keep their own clock.
 */
export type ExceptionMode = 'none' | 'absolute' | 'percent';

export interface ExceptionOptions {
  mode: ExceptionMode;
  band: number;
  /** a window goes out at least this often (ms) whatever it says; 0: only on change */
  heartbeatMs: number;
}

/** The mean of each field of window statistics: {mean} for a number stream, {field: {mean}} for an object. */
function means(stats: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  if (typeof stats.mean === 'number') out.set('', stats.mean);
  else {
    for (const [field, s] of Object.entries(stats)) {
      const mean = (s as { mean?: unknown } | null)?.mean;
      if (typeof mean === 'number') out.set(field, mean);
    }
  }
  return out;
}

export class ExceptionReporter {
  private last: Map<string, number> | undefined;
  private lastSentAt = -Infinity;

  constructor(private readonly o: ExceptionOptions) {}

  /** Whether the window ending at `end` goes out; one that goes becomes the reference. */
  pass(stats: Record<string, unknown>, end: number): boolean {
    if (this.o.mode === 'none') return true;
    const now = means(stats);
    const due = this.last === undefined || (this.o.heartbeatMs > 0 && end - this.lastSentAt >= this.o.heartbeatMs);
    if (!due && !this.changed(now)) return false;
    this.last = now;
    this.lastSentAt = end;
    return true;
  }

  private changed(now: Map<string, number>): boolean {
    const last = this.last!;
    if (now.size !== last.size) return true;
    for (const [field, value] of now) {
      const ref = last.get(field);
      if (ref === undefined) return true;
      const band = this.o.mode === 'absolute' ? this.o.band : (Math.abs(ref) * this.o.band) / 100;
      if (Math.abs(value - ref) > band) return true;
    }
    return false;
  }
}

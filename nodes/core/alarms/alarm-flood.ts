/**
 * Alarm floods and chattering, after ISA-18.2 guidance: a chattering alarm (N transitions within T) is held back
 * with one report instead of N; a node whose alarms activate faster than its flood rate (10 in 10 minutes by
 * default) sends a flood summary instead of each alarm, until the rate falls back.
 */

/**
 * Counts events in a sliding time window, up to `cap` (only whether a limit is passed matters, so the newest `cap`
 * timestamps are all that is kept, whatever the event rate).
 */
export class RateCounter {
  private times: number[] = [];

  constructor(readonly windowMs: number, private readonly cap = Infinity) {}

  add(now: number): number {
    this.times.push(now);
    if (this.times.length > this.cap) this.times.shift();
    return this.count(now);
  }

  count(now: number): number {
    let i = 0;
    while (i < this.times.length && this.times[i] <= now - this.windowMs) i++;
    if (i) this.times.splice(0, i);
    return this.times.length;
  }
}

export class ChatterDetector {
  private readonly counter: RateCounter;
  private chattering = false;

  constructor(readonly maxTransitions: number, windowMs: number) {
    this.counter = new RateCounter(windowMs, maxTransitions + 1);
  }

  get isChattering(): boolean {
    return this.chattering;
  }

  /**
   * A transition of the alarm (active or clear); 'start' when this one makes it chatter, 'stop' when a quiet
   * window ends the chatter (checked here and by the clock through `check`).
   */
  transition(now: number): 'start' | undefined {
    const n = this.counter.add(now);
    if (!this.chattering && n > this.maxTransitions) {
      this.chattering = true;
      return 'start';
    }
    return undefined;
  }

  check(now: number): 'stop' | undefined {
    if (this.chattering && this.counter.count(now) === 0) {
      this.chattering = false;
      return 'stop';
    }
    return undefined;
  }
}

export class FloodDetector {
  private readonly counter: RateCounter;
  private flooding = false;
  private heldBack = 0;

  constructor(readonly maxActivations: number, windowMs: number) {
    this.counter = new RateCounter(windowMs, maxActivations + 1);
  }

  get isFlooding(): boolean {
    return this.flooding;
  }

  /**
   * An alarm activated. Returns whether its own message may go out, and 'start' when this activation starts a
   * flood (the caller sends the summary instead).
   */
  activation(now: number): { send: boolean; flood?: 'start' } {
    const n = this.counter.add(now);
    if (this.flooding) {
      this.heldBack++;
      return { send: false };
    }
    if (n > this.maxActivations) {
      this.flooding = true;
      this.heldBack = 1;
      return { send: false, flood: 'start' };
    }
    return { send: true };
  }

  /** The clock: the flood ends when the rate is back at or below the limit; returns how many were held back. */
  check(now: number): { end: true; heldBack: number } | undefined {
    if (!this.flooding || this.counter.count(now) > this.maxActivations) return undefined;
    this.flooding = false;
    const heldBack = this.heldBack;
    this.heldBack = 0;
    return { end: true, heldBack };
  }

  get heldBackSoFar(): number {
    return this.heldBack;
  }
}

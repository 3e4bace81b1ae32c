/**
 * Exponential reconnect backoff with "full jitter" (delay drawn uniformly from [base, cap]), so that a fleet of
 * gateways that lost the same broker does not reconnect in lock-step and become a reconnect storm.
 */
export interface BackoffOptions {
  /** first delay, ms */
  initialMs: number;
  /** ceiling of the growing delay, ms */
  maxMs: number;
  /** growth per attempt */
  factor?: number;
  /** 0..1: share of the delay that is randomised (0 = deterministic) */
  jitter?: number;
  /** injectable for deterministic tests; returns [0, 1) */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs');
    }
    this.factor = options.factor ?? 2;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
    this.random = options.random ?? Math.random;
  }

  /** The un-jittered delay of attempt n (0-based). */
  ceiling(n: number): number {
    return Math.min(this.options.maxMs, this.options.initialMs * Math.pow(this.factor, n));
  }

  /** Delay before the next attempt; each call counts one failed attempt. */
  next(): number {
    const ceiling = this.ceiling(this.attempt);
    if (this.attempt < 64) this.attempt++;
    const randomPart = ceiling * this.jitter * this.random();
    return Math.round(ceiling * (1 - this.jitter) + randomPart);
  }

  /** Number of consecutive failures counted so far. */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Exponential reconnect backoff with jitter, so that a fleet of gateways that lost the same broker does not reconnect
 * in lock-step and become a reconnect storm. The jitter is the randomised share of each delay: 0.5 draws from
 * [ceiling / 2, ceiling] ("equal jitter"), 1 from [0, ceiling] ("full jitter", which spreads a fleet's reconnections
 * the most for the same ceiling).
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

/**
 * An MQTT link's: full jitter, so that after an outage of the broker a fleet's gateways come back spread over the
 * whole delay instead of bunched in its upper half (measured with `npm run fleet`). Here, not in mqtt-connection, so
 * that the editor's rules can use it without the MQTT client.
 */
export const DEFAULT_MQTT_BACKOFF = { initialMs: 1000, maxMs: 60_000, jitter: 1 };

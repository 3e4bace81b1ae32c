/**
 * When an alarm's condition holds: limit, deviation, rate-of-change, flag, quality and stale rules, with a deadband
 * on return (hysteresis) and on/off delays (debounce). The result feeds the lifecycle in alarm-state.ts as
 * activate/clear events.
 */
export type RuleKind = 'high' | 'high-high' | 'low' | 'low-low' | 'deviation' | 'rate' | 'flag' | 'bad-quality' | 'stale';

export const RULE_KINDS: readonly RuleKind[] = ['high', 'high-high', 'low', 'low-low', 'deviation', 'rate', 'flag', 'bad-quality', 'stale'];

export interface RuleOptions {
  kind: RuleKind;
  /** limit for high/low, allowed deviation, allowed rate per second, or seconds without data for stale */
  limit: number;
  /** deviation: the setpoint (a message may bring its own) */
  setpoint?: number;
  /** how far back past the limit the value must go before the condition clears */
  deadband: number;
  /** the condition must hold this long before it counts (ms) */
  onDelayMs: number;
  /** and be gone this long before it clears (ms) */
  offDelayMs: number;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** ISA-18.2 style priority 1..1000 to a severity band. */
export function severityOf(priority: number): Severity {
  if (priority >= 750) return 'critical';
  if (priority >= 500) return 'high';
  if (priority >= 250) return 'medium';
  return 'low';
}

/** Problems with a rule's settings, as message keys (empty when valid). */
export function validateRule(o: RuleOptions): string[] {
  const problems: string[] = [];
  if (!RULE_KINDS.includes(o.kind)) problems.push('ruleKind');
  const needsLimit = o.kind !== 'flag' && o.kind !== 'bad-quality';
  if (needsLimit && !Number.isFinite(o.limit)) problems.push('limit');
  if ((o.kind === 'deviation' || o.kind === 'rate' || o.kind === 'stale') && !(o.limit > 0)) problems.push('limitPositive');
  if (o.setpoint !== undefined && !Number.isFinite(o.setpoint)) problems.push('setpoint');
  if (!(o.deadband >= 0)) problems.push('deadband');
  if (!(o.onDelayMs >= 0) || !(o.offDelayMs >= 0)) problems.push('delays');
  return problems;
}

/** Fills {{name}} placeholders of an alarm message; an empty one (no unit) leaves no double space. */
export function formatMessage(template: string, values: Record<string, unknown>): string {
  return fill(template, values).replace(/ {2,}/g, ' ').trim();
}

function fill(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
    const v = values[name];
    if (typeof v === 'number') return String(Number(v.toPrecision(6)));
    return v === undefined || v === null ? '' : String(v);
  });
}

export interface Sample {
  value: unknown;
  quality?: 'good' | 'uncertain' | 'bad';
  ts: number;
  setpoint?: number;
}

export class RuleEvaluator {
  /** the debounced condition: what the alarm sees */
  private condition = false;
  /** the raw condition and since when it has differed from the debounced one */
  private pendingSince: number | undefined;
  private lastValue: number | undefined;
  private lastTs: number | undefined;
  private lastSeen: number | undefined;

  constructor(readonly o: RuleOptions, now?: number) {
    // a source that never sends is stale from the start, counted from when the rule began to watch
    this.lastSeen = now;
  }

  get active(): boolean {
    return this.condition;
  }

  /** The raw condition of one sample, with hysteresis against the current state; undefined = no opinion. */
  private raw(s: Sample): boolean | undefined {
    const o = this.o;
    const on = this.condition;
    if (o.kind === 'bad-quality') return s.quality === 'bad';
    if (o.kind === 'flag') {
      const v = s.value !== null && typeof s.value === 'object' ? (s.value as Record<string, unknown>).anomaly : s.value;
      return v === true || v === 1 || v === 'true';
    }
    if (o.kind === 'stale') return false; // a sample is fresh data
    const x = typeof s.value === 'number' ? s.value : NaN;
    if (!Number.isFinite(x)) return undefined;
    switch (o.kind) {
      case 'high':
      case 'high-high':
        return on ? x > o.limit - o.deadband : x > o.limit;
      case 'low':
      case 'low-low':
        return on ? x < o.limit + o.deadband : x < o.limit;
      case 'deviation': {
        const d = Math.abs(x - (s.setpoint ?? o.setpoint ?? 0));
        return on ? d > o.limit - o.deadband : d > o.limit;
      }
      case 'rate': {
        if (this.lastValue === undefined || this.lastTs === undefined || s.ts <= this.lastTs) return undefined;
        const r = Math.abs(x - this.lastValue) / ((s.ts - this.lastTs) / 1000);
        return on ? r > o.limit - o.deadband : r > o.limit;
      }
    }
  }

  /** A sample arrives; returns the change of the debounced condition, if any. */
  sample(s: Sample, now = s.ts): 'activate' | 'clear' | undefined {
    const raw = this.raw(s);
    // a late sample is no reference for the rate of the ones after it
    if (typeof s.value === 'number' && Number.isFinite(s.value) && (this.lastTs === undefined || s.ts > this.lastTs)) {
      this.lastValue = s.value;
      this.lastTs = s.ts;
    }
    // bad data is no sign of life
    if (s.quality !== 'bad') this.lastSeen = now;
    else if (this.o.kind === 'stale') return undefined;
    if (raw === undefined) return undefined;
    return this.settle(raw, now);
  }

  /** The clock: stale data, and delays that ran out without a new sample. */
  tick(now: number): 'activate' | 'clear' | undefined {
    if (this.o.kind === 'stale') {
      const stale = this.lastSeen === undefined ? false : now - this.lastSeen >= this.o.limit * 1000;
      return this.settle(stale, now);
    }
    if (this.pendingSince === undefined) return undefined;
    return this.settle(!this.condition, now);
  }

  /** Debounce: the raw condition must differ for the on/off delay before the alarm follows it. */
  private settle(raw: boolean, now: number): 'activate' | 'clear' | undefined {
    if (raw === this.condition) {
      this.pendingSince = undefined;
      return undefined;
    }
    this.pendingSince ??= now;
    const delay = raw ? this.o.onDelayMs : this.o.offDelayMs;
    if (now - this.pendingSince < delay) return undefined;
    this.condition = raw;
    this.pendingSince = undefined;
    return raw ? 'activate' : 'clear';
  }

  /** What the alarm needs to be restored after a restart. */
  snapshot(): { condition: boolean; lastValue?: number; lastTs?: number } {
    return { condition: this.condition, lastValue: this.lastValue, lastTs: this.lastTs };
  }

  restore(s: { condition: boolean; lastValue?: number; lastTs?: number }, now: number): void {
    this.condition = s.condition === true;
    this.lastValue = typeof s.lastValue === 'number' ? s.lastValue : undefined;
    this.lastTs = typeof s.lastTs === 'number' ? s.lastTs : undefined;
    // a stale condition stays until data arrives; otherwise the silence is counted from the restart
    this.lastSeen = this.o.kind === 'stale' && this.condition ? -Infinity : now;
  }
}

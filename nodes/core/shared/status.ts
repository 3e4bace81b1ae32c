/**
 * Node status badges (the dot and text under a node in the editor), decided without Node-RED so that every node
 * shows the same colours for the same situation: green dot connected, yellow ring connecting, red ring error.
 */
export type StatusFill = 'red' | 'green' | 'yellow' | 'blue' | 'grey';
export type StatusShape = 'ring' | 'dot';

export interface StatusBadge {
  fill?: StatusFill;
  shape?: StatusShape;
  text?: string;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/**
 * One rule for every node's status text: at most this many characters, enough for a link and a backlog
 * (`connected · queued 12345`) or a version and a latency, short enough to read under a node.
 */
export const STATUS_MAX = 32;

export function shortText(text: string): string {
  return text.length <= STATUS_MAX ? text : `${text.slice(0, STATUS_MAX - 1)}…`;
}

/** Badge of a shared connection; `label` turns a state into words (i18n is the caller's). */
export function connectionBadge(state: ConnectionState, label: (state: ConnectionState) => string): StatusBadge {
  switch (state) {
    case 'connected': return { fill: 'green', shape: 'dot', text: shortText(label(state)) };
    case 'connecting': return { fill: 'yellow', shape: 'ring', text: shortText(label(state)) };
    case 'waiting': return { fill: 'red', shape: 'ring', text: shortText(label(state)) };
    case 'idle':
    case 'closed': return { fill: 'grey', shape: 'ring', text: shortText(label(state)) };
  }
}

export function errorBadge(text: string): StatusBadge {
  return { fill: 'red', shape: 'ring', text: shortText(text) };
}

/** Compact display of a measurement for the status text. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return Number(value.toPrecision(4)).toString();
  }
  if (typeof value === 'boolean' || typeof value === 'string') return String(value);
  if (Array.isArray(value)) return `[${value.length}]`;
  if (value && typeof value === 'object') {
    // the first channel and how many more: "flow 122.5 +1"
    const keys = Object.keys(value);
    if (keys.length === 0) return '{}';
    const first = `${keys[0]} ${formatValue((value as Record<string, unknown>)[keys[0]])}`;
    return keys.length === 1 ? first : `${first} +${keys.length - 1}`;
  }
  return String(value);
}

/**
 * Calls `apply` at most once per interval with the latest badge, so a 1 kHz stream does not flood the editor with
 * status updates; the last badge always arrives.
 */
export class StatusThrottle {
  private pending: StatusBadge | (() => StatusBadge) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private stopped = false;

  constructor(private readonly apply: (badge: StatusBadge) => void, private readonly intervalMs = 500) {}

  /** A badge, or a function making it: on a busy stream it is made only when it is shown. */
  set(badge: StatusBadge | (() => StatusBadge)): void {
    if (this.stopped) return;
    // a badge already waits for its turn: this one replaces it (no clock read on a busy stream)
    if (this.timer) {
      this.pending = badge;
      return;
    }
    const now = Date.now();
    if (now - this.last >= this.intervalMs) {
      this.last = now;
      this.apply(typeof badge === 'function' ? badge() : badge);
      return;
    }
    this.pending = badge;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.last = Date.now();
      const pending = this.pending;
      if (pending) this.apply(typeof pending === 'function' ? pending() : pending);
      this.pending = undefined;
    }, this.intervalMs - (now - this.last));
  }

  private lastAlert = -Infinity;

  /**
   * An error badge from a message: shown at once, unless another was shown within the interval; then it waits its
   * turn like any badge, so a stream of bad messages cannot flood the editor either.
   */
  alert(badge: StatusBadge): void {
    const now = Date.now();
    if (now - this.lastAlert < this.intervalMs) return this.set(badge);
    this.lastAlert = now;
    this.now(badge);
  }

  /** Shows a badge now (errors, state changes) and drops any pending one. */
  now(badge: StatusBadge): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.last = Date.now();
    this.apply(badge);
  }

  /** For good: later badges are ignored (a node being closed must not arm new timers). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}

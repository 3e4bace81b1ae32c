/**
 * Per-stream state with a cap: at most `max` streams, the least recently used one evicted to make room, so a
 * flood of new topics cannot grow memory without bound.
 */
export class StreamTable<T> {
  private readonly entries = new Map<string, T>();
  /** the most recently used key: asked again (one hot stream), it is already where it belongs */
  private newest: string | undefined;

  constructor(
    readonly max: number,
    private readonly create: (key: string) => T,
    /** called with the evicted stream, e.g. to flush it */
    private readonly onEvict?: (key: string, state: T) => void,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The stream's state, created on first use; marks it as the most recently used. */
  get(key: string): T {
    let state = this.entries.get(key);
    if (state !== undefined) {
      if (key !== this.newest) {
        this.entries.delete(key);
        this.entries.set(key, state);
        this.newest = key;
      }
      return state;
    }
    if (this.entries.size >= this.max) {
      const [oldest, oldestState] = this.entries.entries().next().value as [string, T];
      this.entries.delete(oldest);
      this.onEvict?.(oldest, oldestState);
    }
    state = this.create(key);
    this.entries.set(key, state);
    this.newest = key;
    return state;
  }

  peek(key: string): T | undefined {
    return this.entries.get(key);
  }

  delete(key: string): boolean {
    if (key === this.newest) this.newest = undefined;
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.newest = undefined;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  entriesList(): Array<[string, T]> {
    return [...this.entries.entries()];
  }
}

/**
 * The streams one message touched, each looked up once: a message's fields are filtered one by one, then the ones
 * that passed or wait for the clock are found again. Kept across messages, so that a message allocates nothing.
 */
export class TouchedStreams<T> {
  private count = 0;
  private readonly fields: Array<string | undefined> = [];
  private readonly states: T[] = [];

  constructor(private readonly table: StreamTable<T>) {}

  /** A new message: nothing touched yet. */
  reset(): void {
    this.count = 0;
  }

  /** The state of stream `key` (created on first use), remembered as the message's `field`. */
  get(key: string, field: string | undefined): T {
    const state = this.table.get(key);
    this.fields[this.count] = field;
    this.states[this.count++] = state;
    return state;
  }

  /** The state the message's `field` touched, if it touched one. */
  find(field: string | undefined): T | undefined {
    for (let i = 0; i < this.count; i++) if (this.fields[i] === field) return this.states[i];
    return undefined;
  }
}

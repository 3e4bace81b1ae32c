/**
 * Admission and batching in front of a slow resource (a model): at most `concurrency` runs in flight, a bounded
 * queue with an explicit overflow policy, optional micro-batching (up to `maxBatch` items or `maxWaitMs`), and
 * results released in submission order. Memory is bounded by the queue limit whatever the arrival rate.
 */

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'error';
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ['drop-oldest', 'drop-newest', 'error'];

export interface SchedulerOptions<I, O> {
  /** 1 disables batching */
  maxBatch: number;
  /** how long the first queued item may wait for others */
  maxWaitMs: number;
  concurrency: number;
  /** items waiting (not yet running); at least maxBatch */
  queueLimit: number;
  overflow: OverflowPolicy;
  /** items with different keys never share a batch */
  batchKey: (item: I) => string;
  /** runs a batch; returns one output per item, in order */
  /** one result per item, in order; an Error in place of a result fails that item alone */
  run: (items: I[]) => Promise<Array<O | Error>>;
}

export class OverflowError extends Error {
  constructor(message: string, readonly policy: OverflowPolicy) {
    super(message);
  }
}

export interface SchedulerCounters {
  submitted: number;
  completed: number;
  failed: number;
  dropped: number;
  batches: number;
  /** items that ran in a batch of more than one */
  batchedItems: number;
  queued: number;
  inFlight: number;
}

interface Entry<I, O> {
  seq: number;
  item: I;
  at: number;
  settled?: { ok: true; value: O } | { ok: false; error: Error };
  resolve: (v: O) => void;
  reject: (e: Error) => void;
}

export class BatchScheduler<I, O> {
  private readonly queue: Array<Entry<I, O>> = [];
  /** submitted, not yet released to the caller, by sequence */
  private readonly pending = new Map<number, Entry<I, O>>();
  private nextSeq = 0;
  private nextRelease = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly counts = { submitted: 0, completed: 0, failed: 0, dropped: 0, batches: 0, batchedItems: 0 };

  constructor(private readonly o: SchedulerOptions<I, O>) {}

  get counters(): SchedulerCounters {
    return { ...this.counts, queued: this.queue.length, inFlight: this.inFlight };
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const entry: Entry<I, O> = { seq: this.nextSeq++, item, at: Date.now(), resolve, reject };
      this.counts.submitted++;
      this.pending.set(entry.seq, entry);
      if (this.queue.length >= this.o.queueLimit) {
        const limit = `the queue is full (${this.o.queueLimit} waiting, ${this.inFlight} running)`;
        if (this.o.overflow === 'drop-oldest' && this.queue.length > 0) {
          const oldest = this.queue.shift()!;
          this.counts.dropped++;
          this.settle(oldest, { ok: false, error: new OverflowError(`${limit}: dropped the oldest message`, 'drop-oldest') });
        } else {
          const policy = this.o.overflow === 'error' ? 'error' : 'drop-newest';
          this.counts.dropped++;
          this.settle(entry, { ok: false, error: new OverflowError(`${limit}: message refused`, policy) });
          return;
        }
      }
      this.queue.push(entry);
      this.pump();
    });
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Refuses everything still queued (on close). */
  clear(reason: string): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const e of this.queue.splice(0)) {
      this.counts.dropped++;
      this.settle(e, { ok: false, error: new OverflowError(reason, this.o.overflow) });
    }
    this.checkIdle();
  }

  private pump(): void {
    while (this.inFlight < this.o.concurrency && this.queue.length > 0) {
      const first = this.queue[0];
      let n = 1;
      if (this.o.maxBatch > 1) {
        const key = this.o.batchKey(first.item);
        while (n < this.queue.length && n < this.o.maxBatch && this.o.batchKey(this.queue[n].item) === key) n++;
      }
      const waited = Date.now() - first.at;
      const full = n >= this.o.maxBatch || n < this.queue.length; // a different key behind it ends the batch too
      if (!full && this.o.maxBatch > 1 && waited < this.o.maxWaitMs) {
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, this.o.maxWaitMs - waited);
        }
        return;
      }
      clearTimeout(this.timer);
      this.timer = undefined;
      this.start(this.queue.splice(0, n));
    }
  }

  private start(batch: Array<Entry<I, O>>): void {
    this.inFlight++;
    this.counts.batches++;
    if (batch.length > 1) this.counts.batchedItems += batch.length;
    let run: Promise<Array<O | Error>>;
    try {
      run = this.o.run(batch.map((e) => e.item));
    } catch (err) {
      run = Promise.reject(err);
    }
    run.then(
      (outputs) => {
        if (outputs.length !== batch.length) throw new Error(`the run returned ${outputs.length} results for ${batch.length} items`);
        batch.forEach((e, i) => {
          const v = outputs[i];
          this.settle(e, v instanceof Error ? { ok: false, error: v } : { ok: true, value: v });
        });
      },
    ).catch((err: Error) => {
      for (const e of batch) if (!e.settled) this.settle(e, { ok: false, error: err instanceof Error ? err : new Error(String(err)) });
    }).finally(() => {
      this.inFlight--;
      this.pump();
      this.checkIdle();
    });
  }

  private settle(e: Entry<I, O>, result: NonNullable<Entry<I, O>['settled']>): void {
    e.settled = result;
    if (result.ok) this.counts.completed++;
    else if (!(result.error instanceof OverflowError)) this.counts.failed++;
    // release in submission order: a fast later batch waits for an earlier slow one
    while (this.pending.has(this.nextRelease) && this.pending.get(this.nextRelease)!.settled) {
      const ready = this.pending.get(this.nextRelease)!;
      this.pending.delete(this.nextRelease);
      this.nextRelease++;
      if (ready.settled!.ok) ready.resolve(ready.settled!.value);
      else ready.reject(ready.settled!.error);
    }
  }

  private checkIdle(): void {
    if (this.queue.length === 0 && this.inFlight === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

/**
 * The uplink's drain loop: while the link is up, take the oldest records from the durable queue, pack them into
 * publishes (uplink-batch), pace them (token buckets for messages and bytes), publish with QoS 1 or 2, and delete
 * records only when the broker acknowledged them. A failed or cut publish puts its records back, to go again in
 * order. Memory holds only what is in flight.
 */
import { EventEmitter } from 'node:events';
import type { DurableQueue } from './durable-queue';
import { BatchOptions, planPublishes, TokenBucket } from './uplink-batch';
import { TopicError } from '../connections/mqtt-connection';

/**
 * The broker (or the client before it) refused this publish for what it is: an MQTT 5 reason code of 0x80 or more
 * (not authorized, topic name invalid, quota, payload format), or a topic that cannot go on the wire. Sending it
 * again would fail again, and hold up everything behind it.
 */
export function isRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof TopicError || (typeof code === 'number' && code >= 0x80);
}

/** How long a drain waits after the store failed before it tries again. */
const STORE_RETRY_MS = 5000;

export interface PublishLink {
  readonly connected: boolean;
  publish(topic: string, payload: Buffer, options: { qos: 1 | 2; retain: boolean; properties?: Record<string, unknown> }): Promise<void>;
}

export interface SenderOptions {
  batch: BatchOptions;
  /** how long the first record may wait for others to share its publish */
  batchWaitMs: number;
  /** the publish topic of a record (from its own topic) */
  topic: (r: { topic: string }) => string;
  qos: 1 | 2;
  retain: boolean;
  /** MQTT 5 publish properties (content type, user properties, message expiry) */
  properties?: Record<string, unknown>;
  /** publishes awaiting their acknowledgment at once */
  maxInFlight: number;
  /** 0 = no limit */
  recordsPerSecond: number;
  bytesPerSecond: number;
  /** after an outage, new records go before the backlog (order then holds within each, not across) */
  liveFirst?: boolean;
}

export interface SenderCounters {
  publishes: number;
  sentRecords: number;
  /** MQTT bytes sent (payload, topic, header), and what one JSON publish per record would have cost */
  wireBytes: number;
  plainBytes: number;
  failedPublishes: number;
  tooLarge: number;
}

export class UplinkSender extends EventEmitter {
  readonly counters: SenderCounters = { publishes: 0, sentRecords: 0, wireBytes: 0, plainBytes: 0, failedPublishes: 0, tooLarge: 0 };
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;
  private stopped = false;
  private readonly recordBucket: TokenBucket;
  private readonly byteBucket: TokenBucket;

  constructor(private readonly queue: DurableQueue, private readonly link: PublishLink, private readonly o: SenderOptions) {
    super();
    this.recordBucket = new TokenBucket(o.recordsPerSecond, Math.max(o.batch.maxRecords, o.recordsPerSecond));
    this.byteBucket = new TokenBucket(o.bytesPerSecond, Math.max(o.batch.maxPacketBytes, o.bytesPerSecond));
  }

  /**
   * New records were stored: send them once a batch is full or the wait is over. A batch that fills while a partial
   * one waits goes at once (a burst never sits out the wait), and so does one with an urgent record in it.
   */
  kick(urgent = false): void {
    if (this.stopped) return;
    const full = urgent || this.queue.pending >= this.o.batch.maxRecords;
    if (this.timer && !(full && this.waiting)) return;
    clearTimeout(this.timer);
    this.waiting = !full;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.waiting = false;
      void this.drain();
    }, full ? 0 : this.o.batchWaitMs);
  }

  /** the timer is the wait for a partial batch (not a pace or a send now) */
  private waiting = false;

  /** The link came up: send the backlog now (it has waited for the link, not for a batch). */
  linkUp(): void {
    if (this.o.liveFirst) this.queue.markBacklog();
    this.kick(true);
  }

  /** The link went down: whatever was in flight goes again later. */
  linkDown(): void {
    this.queue.releaseAll();
  }

  private async drain(): Promise<void> {
    if (this.draining || this.stopped) return;
    this.draining = true;
    try {
      while (!this.stopped && this.link.connected && this.inFlight < this.o.maxInFlight && this.queue.pending > 0) {
        const records = this.queue.page(this.o.batch.maxRecords * Math.max(1, this.o.maxInFlight - this.inFlight));
        if (!records.length) break;
        const plan = planPublishes(records, this.queue.epoch, this.o.topic, this.o.batch);
        if (plan.tooLarge.length) {
          // it can never be sent: counted and reported, not retried for ever
          this.counters.tooLarge += plan.tooLarge.length;
          this.emit('drop', this.queue.discard(plan.tooLarge, 'too-large'));
        }
        for (let i = 0; i < plan.publishes.length; i++) {
          const p = plan.publishes[i];
          const wait = Math.max(this.recordBucket.take(p.ids.length), this.byteBucket.take(p.payload.length));
          if (wait > 0 || !this.link.connected || this.stopped) {
            // not now: this and the rest of the page go back, in order
            this.queue.release(plan.publishes.slice(i).flatMap((x) => x.ids), false);
            if (wait > 0 && !this.stopped) this.timer ??= setTimeout(() => { this.timer = undefined; void this.drain(); }, wait);
            return;
          }
          this.send(p.topic, p.payload, p.ids, p.plainBytes);
        }
      }
    } catch (err) {
      // the store could not be read or written (an I/O error, a database closed under it): reported, and tried
      // again later; a drain runs from a timer, so a throw here would stop the whole gateway
      this.emit('store-failed', err);
      if (!this.stopped) this.timer ??= setTimeout(() => { this.timer = undefined; void this.drain(); }, STORE_RETRY_MS);
    } finally {
      this.draining = false;
    }
  }

  private send(topic: string, payload: Buffer, ids: number[], plainBytes: number): void {
    this.inFlight++;
    this.link.publish(topic, payload, { qos: this.o.qos, retain: this.o.retain, properties: this.o.properties }).then(() => {
      // after close the database is gone: the records stay and go again after a restart (at least once)
      if (this.stopped) return;
      try {
        this.queue.ack(ids);
      } catch (err) {
        // delivered but not deleted (e.g. a full disk): they go again, which at-least-once allows
        this.queue.release(ids);
        this.emit('failed', err);
        return;
      }
      this.counters.publishes++;
      this.counters.sentRecords += ids.length;
      // a PUBLISH at QoS 1/2 costs its payload, the topic and about 6 bytes of header and packet id
      const overhead = Buffer.byteLength(topic) + 6;
      this.counters.wireBytes += payload.length + overhead;
      this.counters.plainBytes += plainBytes + ids.length * overhead;
      this.emit('sent', ids.length);
    }, (err: Error) => {
      if (this.stopped) return;
      this.counters.failedPublishes++;
      if (isRefusal(err)) {
        // set aside and reported with the broker's reason, so the records behind it still go
        this.emit('drop', { ...this.queue.discard(ids, 'refused'), error: err.message });
        return;
      }
      this.queue.release(ids);
      this.emit('failed', err);
    }).finally(() => {
      this.inFlight--;
      if (!this.stopped && this.queue.pending > 0) this.kick();
    });
  }

  get publishesInFlight(): number {
    return this.inFlight;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * edge-uplink without Node-RED: the queue on disk (opened, or waited for while another process holds it locked),
 * the intake that checks each record and commits records in groups, the sender, the age limit, and the figures
 * and state the node shows. Everything it reports is an event or a KeyedError for the node to translate.
 */
import { EventEmitter } from 'node:events';
import { DropEvent, DurableQueue, EnqueueResult, NewRecord, QueueFullError, QueueLockedError } from './durable-queue';
import { errorText, KeyedError, quote } from '../shared/errors';
import { publishTopicProblem } from '../connections/mqtt-connection';
import { PublishLink, UplinkSender } from './uplink-sender';
import { filterFields } from './uplink-batch';
import { UplinkOptions } from './uplink-settings';

export interface UplinkLink extends PublishLink {
  on(event: 'state', listener: () => void): unknown;
  off(event: 'state', listener: () => void): unknown;
}

export type UplinkState = 'opening' | 'locked' | 'connected' | 'offline' | 'diskFull';

type Done = (err?: Error) => void;

/** How long to wait before trying a locked database again. */
const LOCK_RETRY_MS = 2000;

export class Uplink extends EventEmitter {
  private queue: DurableQueue | undefined;
  private sender: UplinkSender | undefined;
  private locked = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private ttlTimer: NodeJS.Timeout | undefined;
  private group: Array<{ record: NewRecord; done: Done }> = [];
  private groupTimer: NodeJS.Timeout | undefined;
  /** group commit: ms messages wait to share one flushed transaction; 0: one event-loop turn; undefined: none */
  private readonly groupWait: number | undefined;
  private badTopics = 0;
  private readonly onLinkState = () => {
    if (!this.sender) return;
    if (this.link.connected) this.sender.linkUp();
    else this.sender.linkDown();
    this.emit('state');
  };

  constructor(private readonly file: string, private readonly o: UplinkOptions, private readonly link: UplinkLink) {
    super();
    const durability = o.queue.durability;
    this.groupWait = durability === 'group' ? o.groupMs : durability === 'os' ? 0 : undefined;
  }

  /**
   * Opens the queue now. A locked database is not damage: 'locked' is emitted and opening is tried again until it
   * works ('open'). Any other failure (no room, no permission) is thrown, for the node to report at deploy.
   */
  open(): void {
    if (this.closed) return;
    try {
      this.queue = new DurableQueue(this.file, this.o.queue);
    } catch (err) {
      if (!(err instanceof QueueLockedError)) throw err;
      this.locked = true;
      this.emit('locked', err);
      this.emit('state');
      this.retryTimer = setTimeout(() => this.retryOpen(), LOCK_RETRY_MS);
      return;
    }
    this.locked = false;
    this.start(this.queue);
  }

  private retryOpen(): void {
    try {
      this.open();
    } catch (err) {
      this.emit('error', err);
    }
  }

  private start(queue: DurableQueue): void {
    if (queue.opened.movedAside) this.emit('moved-aside', queue.opened.movedAside, queue.opened.reason ?? '');
    const sender = new UplinkSender(queue, this.link, this.o.sender);
    this.sender = sender;
    sender.on('sent', () => this.emit('progress'));
    sender.on('drop', (e: DropEvent) => this.emit('drop', e));
    sender.on('store-failed', (err: unknown) => this.emit('warning', new KeyedError('storeRead', { error: errorText(err) })));
    this.link.on('state', this.onLinkState);
    const { maxAgeMs } = this.o.queue;
    if (maxAgeMs > 0) this.ttlTimer = setInterval(() => this.expire(), Math.min(60_000, Math.max(1000, maxAgeMs / 10)));
    this.emit('open');
    this.onLinkState();
  }

  private expire(): void {
    try {
      const e = this.queue?.expire();
      if (e) this.emit('drop', e);
    } catch (err) {
      this.emit('warning', new KeyedError('store', { error: errorText(err) }));
    }
  }

  get state(): UplinkState {
    if (!this.queue) return this.locked ? 'locked' : 'opening';
    return this.queue.diskFull ? 'diskFull' : this.link.connected ? 'connected' : 'offline';
  }

  get queued(): number {
    return this.queue?.queued ?? 0;
  }

  /**
   * One message: its payload (filtered for residency) and topic checked, then stored; `done` once it is stored
   * (or refused, with the reason). A record that could never be published is never stored.
   */
  accept(topic: string, ts: number, payload: unknown, done: Done): void {
    if (!this.queue) return done(new KeyedError(this.locked ? 'locked' : 'notOpen'));
    let body: string | undefined;
    try {
      body = JSON.stringify(filterFields(payload, this.o.allow, this.o.deny));
    } catch (err) {
      return done(new KeyedError('payload', { error: errorText(err) }));
    }
    if (body === undefined) return done(new KeyedError('payload', { error: quote(payload) }));
    const record: NewRecord = { topic, ts, body };
    const problem = publishTopicProblem(this.o.sender.topic(record), false);
    if (problem) {
      this.badTopics++;
      this.emit('drop', { reason: 'bad-topic', count: 1, ids: [], bytes: Buffer.byteLength(body) } satisfies DropEvent);
      return done(new KeyedError(problem));
    }
    if (this.groupWait === undefined) return this.store([{ record, done }]);
    this.group.push({ record, done });
    this.groupTimer ??= setTimeout(() => this.commitGroup(), this.groupWait);
  }

  private commitGroup(): void {
    this.groupTimer = undefined;
    const batch = this.group;
    this.group = [];
    if (batch.length) this.store(batch);
  }

  private store(items: Array<{ record: NewRecord; done: Done }>): void {
    const queue = this.queue!;
    let result: EnqueueResult;
    try {
      result = queue.enqueue(items.map((i) => i.record));
    } catch (err) {
      if (!(err instanceof QueueFullError)) {
        // e.g. an I/O error: nothing was stored, every sender is told
        const failed = new KeyedError('store', { error: errorText(err) });
        for (const item of items) item.done(failed);
        return;
      }
      result = err.result; // reject: none of them stored
    }
    for (const e of result.drops) this.emit('drop', e);
    // drop-newest refuses from the end of the batch, reject all of it
    const refused = new KeyedError(queue.diskFull ? 'diskFull' : 'refused');
    items.forEach((item, i) => item.done(i < result.accepted ? undefined : refused));
    // an urgent record (an alarm) takes whatever waits with it now; bulk data waits for a full batch
    this.sender!.kick(items.some((item, i) => i < result.accepted && this.o.urgent(item.record.topic)));
    this.emit('progress');
  }

  /** The figures `msg.command = "stats"` answers with. */
  stats(): Record<string, unknown> {
    if (!this.queue || !this.sender) return { state: this.state };
    const s = this.queue.stats();
    const c = this.sender.counters;
    const age = s.oldestTs === undefined ? 0 : Math.max(0, Date.now() - s.oldestTs);
    return {
      state: this.state, ...s, oldestAgeMs: age,
      // seconds too: what a chart of the backlog's age plots
      oldestAgeS: Math.round(age / 100) / 10,
      publishes: c.publishes, sent: c.sentRecords, wireBytes: c.wireBytes, savedBytes: Math.max(0, c.plainBytes - c.wireBytes),
      tooLarge: c.tooLarge, badTopics: this.badTopics, epoch: this.queue.epoch,
    };
  }

  /** Stores what waits for its group commit (accepted work is stored before the node goes), then closes. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.ttlTimer);
    clearTimeout(this.groupTimer);
    if (this.group.length && this.queue) this.commitGroup();
    this.sender?.stop();
    this.link.off('state', this.onLinkState);
    this.queue?.close();
  }
}

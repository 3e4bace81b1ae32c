/**
 * Where edge-model-update's offers come from: an HTTP registry polled with ETags, a directory (a USB stick), or an
 * MQTT topic the cloud pushes a retained manifest to. The feed checks on its interval (and once soon after start),
 * hands each offer to the updater, and says when the source cannot be reached; the node shows it.
 */
import { EventEmitter } from 'node:events';
import type { ModelUpdater, UpdateReport } from './model-updater';
import { DirectorySource, HttpManifestSource, Offer } from './update-sources';
import type { UpdateOptions } from './update-settings';

export interface FeedLink {
  subscribe(filter: string, qos: 0 | 1 | 2, handler: (topic: string, payload: Buffer) => void): (removed: boolean) => void;
}

/** The first check waits this long after start, so a deploy is not held up by a registry. */
const FIRST_CHECK_MS = 100;

export class UpdateFeed extends EventEmitter {
  private readonly http: HttpManifestSource | undefined;
  private readonly dir: DirectorySource | undefined;
  private timer: NodeJS.Timeout | undefined;
  private first: NodeJS.Timeout | undefined;
  private unsubscribe: ((removed: boolean) => void) | undefined;

  constructor(private readonly o: UpdateOptions, model: string, private readonly updater: ModelUpdater, private readonly link?: FeedLink) {
    super();
    this.http = o.source === 'http' ? new HttpManifestSource(o.url, o.timeoutMs) : undefined;
    this.dir = o.source === 'directory' ? new DirectorySource(o.directory, model) : undefined;
  }

  get pushed(): boolean {
    return this.o.source === 'mqtt';
  }

  start(): void {
    if (!this.pushed) {
      const quietly = () => void this.check(false).catch((err: unknown) => this.emit('unreachable', err));
      this.timer = setInterval(quietly, this.o.intervalMs);
      this.first = setTimeout(quietly, FIRST_CHECK_MS);
      return;
    }
    const base = this.o.artifactBase ? { url: this.o.artifactBase } : {};
    this.unsubscribe = this.link?.subscribe(this.o.topic, 1, (_topic, payload) => {
      let envelope: unknown;
      try {
        envelope = JSON.parse(payload.toString('utf8'));
      } catch {
        envelope = undefined; // refused by the updater as malformed, with a report
      }
      void this.updater.offer(envelope, base);
    });
  }

  private offer(o: Offer | undefined): Promise<UpdateReport | undefined> {
    return o ? this.updater.offer(o.envelope, o.base) : Promise.resolve(undefined);
  }

  /** One check of a polled source; a refused manifest is fetched again next time (its ETag is forgotten). */
  async check(force: boolean): Promise<void> {
    if (this.http) {
      if (force) this.http.reset();
      const report = await this.offer(await this.http.check());
      if (report?.state === 'rejected') this.http.reset();
    } else if (this.dir) {
      await this.offer(this.dir.check(force));
    }
  }

  stop(removed: boolean): void {
    clearInterval(this.timer);
    clearTimeout(this.first);
    this.unsubscribe?.(removed);
  }
}

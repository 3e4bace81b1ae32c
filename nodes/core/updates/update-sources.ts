/**
 * Where manifests come from, besides an MQTT push (which the node subscribes to through its broker):
 * an HTTP(S) registry polled with conditional requests, and a directory (a USB stick, a sync folder) watched for
 * a changed manifest. Both lay a model out the same way, as the publishing tool writes it:
 *
 *     <registry>/<model>/manifest.json          the signed manifest of the newest version
 *     <registry>/<model>/<version>/model.onnx   the artifact the manifest points at (relative)
 */
import fs from 'node:fs';
import path from 'node:path';
import { statKey } from '../models/model-store';
import { fetchManifest } from './update-fetch';
import { UpdateRefused } from './update-manifest';
import type { OfferBase } from './model-updater';

export interface Offer {
  envelope: unknown;
  base: OfferBase;
}

/** Polls a manifest URL; an unchanged manifest (ETag) is a 304 and no offer. */
export class HttpManifestSource {
  private etag: string | undefined;
  /** manifest requests made, and the bytes of the manifests received */
  readonly counters = { requests: 0, unchanged: 0, bytes: 0 };

  constructor(readonly url: string, private readonly timeoutMs: number) {}

  async check(): Promise<Offer | undefined> {
    this.counters.requests++;
    const got = await fetchManifest(this.url, this.etag, this.timeoutMs);
    this.counters.bytes += got.bytes;
    if (got.body === undefined) {
      this.counters.unchanged++;
      return undefined;
    }
    this.etag = got.etag;
    return { envelope: got.body, base: { url: this.url } };
  }

  /** Forget the ETag: the next check fetches the manifest whatever it is (after a refusal, say). */
  reset(): void {
    this.etag = undefined;
  }
}

/** Reads `<dir>/<model>/manifest.json` when it changed since the last look. */
export class DirectorySource {
  private last = '';

  constructor(readonly dir: string, private readonly model: string) {}

  get manifestFile(): string {
    return path.join(this.dir, this.model, 'manifest.json');
  }

  check(force = false): Offer | undefined {
    const key = statKey(this.manifestFile);
    if (key === 'missing') return undefined; // nothing offered (yet): the stick is not in
    if (key === this.last && !force) return undefined;
    this.last = key;
    let envelope: unknown;
    try {
      envelope = JSON.parse(fs.readFileSync(this.manifestFile, 'utf8'));
    } catch {
      throw new UpdateRefused('malformed', `${this.manifestFile} is not JSON`);
    }
    return { envelope, base: { dir: path.join(this.dir, this.model) } };
  }
}

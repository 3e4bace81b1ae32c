/**
 * Fetching an update: the manifest with a conditional request (an unchanged manifest costs one small 304), and the
 * model streamed to a temporary file with a size cap and an idle timeout. A dropped connection resumes with a
 * Range request where the server offers it, and restarts from the beginning where it does not.
 */
import fs from 'node:fs';
import { UpdateRefused } from './update-manifest';

export interface ManifestFetch {
  /** undefined when the server says it has not changed (304) */
  body?: unknown;
  etag?: string;
  /** bytes received (headers not counted) */
  bytes: number;
}

/** GETs a manifest; `etag` from the previous answer makes an unchanged one a 304. */
export async function fetchManifest(url: string, etag: string | undefined, timeoutMs: number): Promise<ManifestFetch> {
  const res = await fetch(url, {
    headers: { Accept: 'application/json', ...(etag ? { 'If-None-Match': etag } : {}) },
    signal: AbortSignal.timeout(timeoutMs),
    cache: 'no-store',
  });
  if (res.status === 304) {
    await res.arrayBuffer();
    return { etag, bytes: 0 };
  }
  if (!res.ok) throw new Error(`manifest ${url}: HTTP ${res.status}`);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UpdateRefused('malformed', `manifest ${url} is not JSON`);
  }
  return { body, etag: res.headers.get('etag') ?? undefined, bytes: Buffer.byteLength(text) };
}

export interface DownloadOptions {
  /** refuse more than this */
  maxBytes: number;
  /** give up a connection that sends nothing for this long */
  idleTimeoutMs: number;
  /** connections tried in all (a dropped one is tried again) */
  attempts: number;
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface Downloaded {
  bytes: number;
  /** connections it took */
  connections: number;
  /** bytes fetched again after a restart (0 when every retry resumed) */
  refetched: number;
}

/** Streams `url` into `file` (the caller reads it once to hash and check it). */
export async function download(url: string, file: string, o: DownloadOptions): Promise<Downloaded> {
  let received = 0;
  let refetched = 0;
  let lastError: Error | undefined;
  fs.writeFileSync(file, '');
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    const controller = new AbortController();
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error(`no data for ${o.idleTimeoutMs} ms`)), o.idleTimeoutMs);
    };
    arm();
    try {
      const res = await fetch(url, { headers: received > 0 ? { Range: `bytes=${received}-` } : {}, signal: controller.signal, cache: 'no-store' });
      if (received > 0 && res.status !== 206) {
        // no resume offered: start over
        refetched += received;
        received = 0;
        fs.writeFileSync(file, '');
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const length = Number(res.headers.get('content-length') ?? NaN);
      const total = Number.isFinite(length) ? received + length : undefined;
      if (total !== undefined && total > o.maxBytes) throw new UpdateRefused('too-large', `the model file has ${total} bytes, above the limit of ${o.maxBytes}`);
      const fd = fs.openSync(file, 'a');
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          arm();
          received += chunk.length;
          if (received > o.maxBytes) throw new UpdateRefused('too-large', `the model file is larger than the limit of ${o.maxBytes} bytes`);
          fs.writeSync(fd, chunk);
          o.onProgress?.(received, total);
        }
        // no flush: the file is read back at once, hashed and checked, and the store writes the version durably;
        // a download cut by a power loss starts again
      } finally {
        fs.closeSync(fd);
      }
      clearTimeout(idle);
      if (total !== undefined && received < total) throw new Error(`the connection closed after ${received} of ${total} bytes`);
      return { bytes: received, connections: attempt, refetched };
    } catch (err) {
      clearTimeout(idle);
      if (err instanceof UpdateRefused) throw err;
      lastError = controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : (err as Error);
      // what arrived is kept, so the next connection can resume from there
      received = fs.statSync(file).size;
    }
  }
  throw new Error(`download of ${url} failed after ${o.attempts} attempts: ${lastError?.message ?? 'unknown error'}`);
}

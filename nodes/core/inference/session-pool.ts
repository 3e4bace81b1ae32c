/**
 * onnxruntime sessions, shared and bounded. Sessions are keyed by the model's sha256 and the thread settings, so
 * several inference nodes on one model share one session; a session nobody uses is kept in a small LRU cache (a
 * swap back to a recent version is instant) and released when it falls out.
 */
import fs from 'node:fs';
import { LRUCache } from 'lru-cache';
import * as ort from 'onnxruntime-node';
import { TensorInfo } from '../models/model-manifest';
import { sha256Hex } from '../models/model-store';

export interface SessionSettings {
  /** intra-op threads; small by default, a gateway runs other things too */
  threads: number;
}

export interface LoadedSession {
  key: string;
  sha256: string;
  session: ort.InferenceSession;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export class ModelLoadError extends Error {}

function describeValues(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape.slice() } : { name: m.name, type: 'non-tensor', shape: [] }));
}

function readModel(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelLoadError(code === 'ENOENT' ? `model file ${file} does not exist` : `cannot read model file ${file}: ${(err as Error).message}`);
  }
}

function corrupt(file: string, actual: string, expected: string): ModelLoadError {
  return new ModelLoadError(`model file ${file} is corrupt: its sha256 is ${actual.slice(0, 12)}…, the manifest says ${expected.slice(0, 12)}…`);
}

/** Loads a model already read and checked against its sha256 (`file` names it in errors). */
export async function loadSession(file: string, bytes: Buffer, sha256: string, s: SessionSettings): Promise<LoadedSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: s.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // a failing run is reported through the node (done(err), status); onnxruntime's own print would repeat it
      logSeverityLevel: 4,
    });
  } catch (err) {
    throw new ModelLoadError(`onnxruntime cannot load ${file}: ${(err as Error).message.split('\n')[0]}`);
  }
  return { key: `${sha256}|${s.threads}`, sha256, session, inputs: describeValues(session.inputMetadata), outputs: describeValues(session.outputMetadata) };
}

export interface SessionLease {
  readonly loaded: LoadedSession;
  /** gives the session back; the last user's release parks it in the idle cache */
  release(): void;
}

interface Live {
  loading: Promise<LoadedSession>;
  refs: number;
}

/** What keeps a checked session for its first acquire (an updater's health check hands its session over). */
export interface SessionKeeper {
  park(loaded: LoadedSession): void;
}

let runtimePool: SessionPool | undefined;

export class SessionPool implements SessionKeeper {
  private readonly live = new Map<string, Live>();
  private readonly idle: LRUCache<string, LoadedSession>;
  /** counters for the benchmark and the status: sessions created, released, shared, and taken over from a check */
  readonly stats = { created: 0, released: 0, shared: 0, adopted: 0 };

  /** The runtime's pool: every inference node and updater in this process (the first caller sets its size). */
  static shared(maxIdle = 4): SessionPool {
    runtimePool ??= new SessionPool(maxIdle);
    return runtimePool;
  }

  constructor(maxIdle = 4) {
    this.idle = new LRUCache<string, LoadedSession>({
      max: Math.max(1, maxIdle),
      dispose: (value, _key, reason) => {
        // "delete" is a revival by acquire(); anything else means nobody will use it again
        if (reason !== 'delete') this.releaseSession(value);
      },
    });
  }

  private releaseSession(l: LoadedSession): void {
    this.stats.released++;
    l.session.release().catch(() => undefined);
  }

  /**
   * A lease on the session for this file. The file is read and hashed on every acquire, even when a session for
   * its hash is already loaded: a corrupt or replaced file is found now, not on the next restart.
   */
  async acquire(file: string, sha256: string | undefined, s: SessionSettings): Promise<SessionLease> {
    const bytes = readModel(file);
    const digest = sha256Hex(bytes);
    if (sha256 && digest !== sha256) throw corrupt(file, digest, sha256);
    const key = `${digest}|${s.threads}`;
    let entry = this.live.get(key);
    if (entry) {
      this.stats.shared++;
    } else {
      const parked = this.idle.get(key);
      if (parked) this.idle.delete(key);
      entry = {
        loading: parked ? Promise.resolve(parked) : loadSession(file, bytes, digest, s).then((l) => {
          this.stats.created++;
          return l;
        }),
        refs: 0,
      };
      this.live.set(key, entry);
    }
    entry.refs++;
    const live = entry;
    let loaded: LoadedSession;
    try {
      loaded = await live.loading;
    } catch (err) {
      if (--live.refs === 0 && this.live.get(key) === live) this.live.delete(key);
      throw err;
    }
    let released = false;
    return {
      loaded,
      release: () => {
        if (released) return;
        released = true;
        if (--live.refs > 0) return;
        this.live.delete(key);
        this.idle.set(key, loaded);
      },
    };
  }

  /**
   * A session loaded outside the pool (a new version's health check) is parked for its first acquire, so the
   * version serves from the session that passed the check instead of loading the file again. One already held
   * under its key is kept, and this one released.
   */
  park(loaded: LoadedSession): void {
    if (this.live.has(loaded.key) || this.idle.has(loaded.key)) return this.releaseSession(loaded);
    this.stats.adopted++;
    this.idle.set(loaded.key, loaded);
  }

  /** Sessions loaded now (in use or parked). */
  get size(): number {
    return this.live.size + this.idle.size;
  }

  /** Releases parked sessions (sessions in use stay until their users release them). */
  clearIdle(): void {
    for (const parked of this.idle.values()) this.releaseSession(parked);
    this.idle.clear(); // disposes with reason "delete": not released twice

  }
}

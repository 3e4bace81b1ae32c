/**
 * The on-disk store of model versions, shared by the inference node (a reader) and the model updater (a writer):
 *
 *     <root>/<name>/<version>/model.onnx      the model
 *     <root>/<name>/<version>/manifest.json   what it is (see model-manifest)
 *     <root>/<name>/<version>/bad.json        present when the version failed to load or to warm up
 *     <root>/<name>/active.json               {version, previous, activatedAt}: the pointer
 *
 * Every change is made so that a power loss at any moment leaves the old or the new state, never a broken one:
 * a version is written into a hidden temporary directory, flushed, then renamed into place; the pointer is
 * rewritten atomically (write new, fsync, rename). Leftover temporary directories are removed on open.
 */
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, loadJson, saveJson, writeDurably } from '../shared/json-store';
import { compareVersions, isSafeName, ModelManifest, validateManifest } from './model-manifest';

export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';
const POINTER_FILE = 'active.json';
const BAD_FILE = 'bad.json';
const TMP_PREFIX = '.incoming-';

export interface ActivePointer {
  version: string;
  previous?: string;
  activatedAt: string;
}

export interface ModelVersion {
  name: string;
  version: string;
  dir: string;
  file: string;
  manifest: ModelManifest;
  /** why the version is unusable, when it is */
  bad?: string;
}

export interface ActiveModel extends ModelVersion {
  /** set when the pointer names a bad version and an older good one is served instead */
  fallbackFrom?: string;
  /** set when the pointer file is damaged (not a pointer, or an unsafe version) and the newest good version is served */
  pointerProblem?: string;
}

/** The pointer file as read: the pointer when it is one, else what is wrong with it (a missing file is neither). */
export interface PointerRead {
  pointer?: ActivePointer;
  problem?: string;
}

/** A pointer is an object whose version (and previous, when set) are safe names; anything else is damage. */
function checkPointer(value: unknown): PointerRead {
  const p = value as Partial<ActivePointer> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return { problem: 'the pointer file is not a JSON object' };
  if (!isSafeName(p.version)) return { problem: 'the pointer names no valid version' };
  if (p.previous !== undefined && !isSafeName(p.previous)) return { problem: 'the pointer names an invalid previous version' };
  return { pointer: { version: p.version, previous: p.previous, activatedAt: String(p.activatedAt ?? '') } };
}

/** A test hook: called at each step of a write, so a test can "lose power" there by throwing. */
export type CrashPoint = (step: 'install:written' | 'install:renamed' | 'activate:written') => void;

export function sha256Hex(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

export class ModelStoreError extends Error {}

/** What changes when a file is replaced, written or removed ('missing' when it is not there). */
export function statKey(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * Calls back when a file is replaced, written or removed, checking every `intervalMs`. The first look is taken
 * now, synchronously (fs.watchFile takes it later, so a change right after subscribing could go unseen).
 */
export function pollFile(file: string, intervalMs: number, onChange: () => void): () => void {
  let last = statKey(file);
  const timer = setInterval(() => {
    const now = statKey(file);
    if (now === last) return;
    last = now;
    onChange();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

const shared = new Map<string, ModelStore>();

export class ModelStore extends EventEmitter {
  /** for tests: simulate a crash between steps */
  crashPoint: CrashPoint | undefined;
  private readonly shadows = new Map<string, string>();

  constructor(readonly root: string) {
    super();
    this.setMaxListeners(0);
  }

  /** One store object per directory in a process, so that an activation reaches every reader at once. */
  static shared(root: string): ModelStore {
    const key = path.resolve(root);
    let store = shared.get(key);
    if (!store) {
      store = new ModelStore(key);
      shared.set(key, store);
    }
    return store;
  }

  private modelDir(name: string): string {
    if (!isSafeName(name)) throw new ModelStoreError(`"${name}" is not a valid model name (letters, digits, ".", "_", "-")`);
    return path.join(this.root, name);
  }

  private versionDir(name: string, version: string): string {
    if (!isSafeName(version)) throw new ModelStoreError(`"${version}" is not a valid version (letters, digits, ".", "_", "-")`);
    return path.join(this.modelDir(name), version);
  }

  /** The model names in the store. */
  models(): string[] {
    try {
      return fs.readdirSync(this.root).filter((n) => isSafeName(n) && fs.statSync(path.join(this.root, n)).isDirectory()).sort();
    } catch {
      return [];
    }
  }

  /** Removes what an interrupted install left behind. */
  recover(name: string): string[] {
    const dir = this.modelDir(name);
    const removed: string[] = [];
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(dir);
    } catch {
      return removed;
    }
    for (const e of entries) {
      if (e.startsWith(TMP_PREFIX) || e.startsWith(`${POINTER_FILE}.tmp-`)) {
        fs.rmSync(path.join(dir, e), { recursive: true, force: true });
        removed.push(e);
      }
    }
    return removed;
  }

  /** One version, or undefined when it is not (completely) installed. */
  version(name: string, version: string): ModelVersion | undefined {
    const dir = this.versionDir(name, version);
    const m = loadJson<ModelManifest>(path.join(dir, MANIFEST_FILE));
    if (!m.value || !fs.existsSync(path.join(dir, MODEL_FILE))) return undefined;
    const bad = loadJson<{ reason: string }>(path.join(dir, BAD_FILE)).value;
    return { name, version, dir, file: path.join(dir, MODEL_FILE), manifest: m.value, bad: bad?.reason };
  }

  /** Installed versions, oldest first. */
  versions(name: string): ModelVersion[] {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(this.modelDir(name));
    } catch {
      return [];
    }
    return entries
      .filter((e) => isSafeName(e) && e !== POINTER_FILE)
      .map((e) => this.version(name, e))
      .filter((v): v is ModelVersion => v !== undefined)
      .sort((a, b) => compareVersions(a.version, b.version));
  }

  /** The pointer file, checked: a damaged one (bad JSON, not a pointer, a path for a version) is a problem, never a throw. */
  readPointer(name: string): PointerRead {
    // read here rather than with loadJson, which moves a damaged file aside: the pointer stays for a person to mend
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.modelDir(name), POINTER_FILE), 'utf8');
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? {} : { problem: `the pointer file cannot be read (${(err as Error).message})` };
    }
    try {
      return checkPointer(JSON.parse(text));
    } catch {
      return { problem: 'the pointer file is not valid JSON' };
    }
  }

  pointer(name: string): ActivePointer | undefined {
    return this.readPointer(name).pointer;
  }

  /**
   * The version to serve: the pointer's, unless it is marked bad or missing, then the newest good version
   * older than it (a reader never serves a version known to be bad). A damaged pointer serves the newest good
   * version and says so.
   */
  active(name: string): ActiveModel | undefined {
    const { pointer: p, problem } = this.readPointer(name);
    if (problem) {
      const newest = this.versions(name).filter((v) => !v.bad).pop();
      return newest ? { ...newest, pointerProblem: problem } : undefined;
    }
    if (!p) return undefined;
    const named = this.version(name, p.version);
    if (named && !named.bad) return named;
    const older = this.versions(name).filter((v) => !v.bad && compareVersions(v.version, p.version) < 0);
    const preferred = p.previous ? older.find((v) => v.version === p.previous) : undefined;
    const fallback = preferred ?? older[older.length - 1];
    return fallback ? { ...fallback, fallbackFrom: p.version } : undefined;
  }

  /**
   * Installs a version (not yet active). The model bytes must match the manifest's sha256; an existing version
   * is never overwritten.
   */
  install(manifest: ModelManifest, model: Uint8Array): ModelVersion {
    const problems = validateManifest(manifest);
    if (problems.length) throw new ModelStoreError(`invalid manifest: ${problems.join('; ')}`);
    const digest = sha256Hex(model);
    if (digest !== manifest.sha256) {
      throw new ModelStoreError(`the model's sha256 is ${digest}, the manifest says ${manifest.sha256}`);
    }
    const { name, version } = manifest;
    const target = this.versionDir(name, version);
    if (fs.existsSync(target)) throw new ModelStoreError(`version ${version} of ${name} is already installed`);
    const modelDir = this.modelDir(name);
    fs.mkdirSync(modelDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(modelDir, `${TMP_PREFIX}${version}-`));
    writeDurably(path.join(tmp, MODEL_FILE), model);
    writeDurably(path.join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    fsyncDir(tmp);
    this.crashPoint?.('install:written');
    fs.renameSync(tmp, target);
    fsyncDir(modelDir);
    this.crashPoint?.('install:renamed');
    return this.version(name, version)!;
  }

  /** Points the model at an installed version; every reader is told. */
  activate(name: string, version: string): ActivePointer {
    const v = this.version(name, version);
    if (!v) throw new ModelStoreError(`version ${version} of ${name} is not installed`);
    const old = this.pointer(name);
    const pointer: ActivePointer = {
      version,
      previous: old && old.version !== version ? old.version : old?.previous,
      activatedAt: new Date().toISOString(),
    };
    if (v.bad) fs.rmSync(path.join(v.dir, BAD_FILE), { force: true }); // an explicit activation is a retry
    saveJson(path.join(this.modelDir(name), POINTER_FILE), pointer, () => this.crashPoint?.('activate:written'));
    this.emit('active', name, version, old?.version);
    return pointer;
  }

  /** Activates the version before the active one (the pointer's previous, else the newest older good one). */
  rollback(name: string): ActivePointer {
    const p = this.pointer(name);
    if (!p) throw new ModelStoreError(`${name} has no active version to roll back from`);
    const older = this.versions(name).filter((v) => !v.bad && compareVersions(v.version, p.version) < 0);
    const target = (p.previous && older.find((v) => v.version === p.previous)) || older[older.length - 1];
    if (!target) throw new ModelStoreError(`${name} has no good version older than ${p.version}`);
    return this.activate(name, target.version);
  }

  /** Records that a version failed (to load, to warm up, in service); readers skip it. */
  markBad(name: string, version: string, reason: string): void {
    const dir = this.versionDir(name, version);
    if (!fs.existsSync(dir)) return;
    saveJson(path.join(dir, BAD_FILE), { reason, at: new Date().toISOString() });
    this.emit('bad', name, version, reason);
  }

  /**
   * A reader ran the version (ok) or it failed at run time: told to whoever watches a new version's first runs in
   * this process (the updater's probation).
   */
  reportRun(name: string, version: string, ok: boolean, reason?: string): void {
    this.emit('run', name, version, ok, reason);
  }

  /**
   * The candidate a model's readers also run in shadow (in this process only: an updater sets it, every edge-infer
   * on the model follows), or undefined to stop. Readers are told through 'shadow'.
   */
  setShadow(name: string, version: string | undefined): void {
    if (version === undefined) this.shadows.delete(name);
    else this.shadows.set(name, version);
    this.emit('shadow', name, version);
  }

  /** The installed candidate in shadow, if any. */
  shadowOf(name: string): ModelVersion | undefined {
    const version = this.shadows.get(name);
    return version ? this.version(name, version) : undefined;
  }

  /** What a reader's shadow run of a candidate found, for the updater's gate. */
  reportShadow(name: string, version: string, observation: unknown): void {
    this.emit('shadow-run', name, version, observation);
  }

  /** Deletes old versions, keeping the newest `keep` plus the active and previous ones. */
  prune(name: string, keep: number): string[] {
    const p = this.pointer(name);
    const all = this.versions(name);
    const protectedVersions = new Set([p?.version, p?.previous, ...all.slice(-keep).map((v) => v.version)]);
    const removed: string[] = [];
    for (const v of all) {
      if (protectedVersions.has(v.version)) continue;
      // renamed away first, so a crash mid-delete never leaves a half version that looks installed
      const doomed = path.join(this.modelDir(name), `${TMP_PREFIX}deleted-${v.version}`);
      fs.renameSync(v.dir, doomed);
      fs.rmSync(doomed, { recursive: true, force: true });
      removed.push(v.version);
    }
    return removed;
  }

  /**
   * Calls back when the served version of a model changes, whether this process or another one (a command-line
   * tool, the updater in another runtime) moved the pointer. Returns the unsubscribe function.
   */
  watch(name: string, listener: (active: ActiveModel | undefined) => void, pollMs = 2000): () => void {
    const key = (a: ActiveModel | undefined) => `${a?.version}|${a?.pointerProblem ?? ''}`;
    let last = key(this.active(name));
    // runs from a timer: whatever the disk holds, it never throws out of it
    const check = () => {
      let now: ActiveModel | undefined;
      try {
        now = this.active(name);
      } catch {
        return; // a file caught mid-change: the next look reads it again
      }
      if (key(now) === last) return;
      last = key(now);
      listener(now);
    };
    const onLocal = (changed: string) => {
      if (changed === name) check();
    };
    this.on('active', onLocal);
    this.on('bad', onLocal);
    const stop = pollFile(path.join(this.modelDir(name), POINTER_FILE), pollMs, check);
    return () => {
      this.off('active', onLocal);
      this.off('bad', onLocal);
      stop();
    };
  }
}

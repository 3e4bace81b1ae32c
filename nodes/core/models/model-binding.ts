/**
 * What an edge-model config node offers to the inference nodes: the version to serve now and every change of it,
 * from a model store (the active pointer) or from a plain .onnx file (replaced in place).
 */
import fs from 'node:fs';
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { ModelSource } from './model-manifest';
import { ModelManifest } from './model-manifest';
import { ModelStore, ModelVersion, pollFile, sha256Hex } from './model-store';
import type { ShadowObservation } from '../monitoring/shadow-gate';

export interface ModelHandle {
  /** set when the configuration cannot work, in words */
  readonly problem: string | undefined;
  readonly name: string;
  /** the store, for writers (the updater); undefined for a plain file */
  readonly store: ModelStore | undefined;
  current(): ModelSource | undefined;
  /** Calls back with the current version at once and on every change; returns the unsubscribe. */
  subscribe(listener: (source: ModelSource | undefined) => void): () => void;
  /** A reader found a version unusable: the store marks it bad, so every reader falls back. */
  reportBad(version: string, reason: string): void;
  /** A run of a version succeeded or failed (for the updater's watch over a new version's first runs). */
  reportRun(version: string, ok: boolean, reason?: string): void;
  /** Calls back with a candidate to run in shadow beside the served version (undefined: stop); returns the unsubscribe. */
  subscribeShadow(listener: (candidate: ModelSource | undefined) => void): () => void;
  /** What a shadow run of a candidate found (for the updater's gate). */
  reportShadow(version: string, observation: ShadowObservation): void;
}

/** What both kinds share: listeners fanned out, and the watch running while anyone listens. */
abstract class FollowedModel {
  problem: string | undefined = undefined;
  private readonly emitter = new EventEmitter();
  private stopWatching: (() => void) | undefined;

  abstract current(): ModelSource | undefined;

  /** Starts watching for new versions (each reported through `changed`); returns the stop. */
  protected abstract watch(): () => void;

  protected changed(source: ModelSource | undefined): void {
    this.emitter.emit('change', source);
  }

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  subscribe(listener: (source: ModelSource | undefined) => void): () => void {
    if (this.problem) {
      listener(undefined);
      return () => undefined;
    }
    // watching starts before the first answer, so no change can fall between the two
    this.stopWatching ??= this.watch();
    this.emitter.on('change', listener);
    listener(this.current());
    return () => {
      this.emitter.off('change', listener);
      if (this.emitter.listenerCount('change') === 0) {
        this.stopWatching?.();
        this.stopWatching = undefined;
      }
    };
  }
}

/** A model in a store: follows the active pointer. */
export class StoreModel extends FollowedModel implements ModelHandle {
  constructor(readonly store: ModelStore, readonly name: string, private readonly pollMs = 2000) {
    super();
    try {
      store.recover(name);
    } catch (err) {
      this.problem = (err as Error).message;
    }
  }

  current(): ModelSource | undefined {
    if (this.problem) return undefined;
    const a = this.store.active(this.name);
    return a ? { ...sourceOf(a), warning: a.pointerProblem } : undefined;
  }

  protected watch(): () => void {
    return this.store.watch(this.name, () => this.changed(this.current()), this.pollMs);
  }

  reportBad(version: string, reason: string): void {
    if (!this.problem) this.store.markBad(this.name, version, reason);
  }

  reportRun(version: string, ok: boolean, reason?: string): void {
    if (!this.problem) this.store.reportRun(this.name, version, ok, reason);
  }

  subscribeShadow(listener: (candidate: ModelSource | undefined) => void): () => void {
    if (this.problem) return () => undefined;
    const candidate = () => {
      const v = this.store.shadowOf(this.name);
      return v ? sourceOf(v) : undefined;
    };
    const onShadow = (name: string) => {
      if (name === this.name) listener(candidate());
    };
    this.store.on('shadow', onShadow);
    const now = candidate();
    if (now) listener(now);
    return () => this.store.off('shadow', onShadow);
  }

  reportShadow(version: string, observation: ShadowObservation): void {
    if (!this.problem) this.store.reportShadow(this.name, version, observation);
  }
}

function sourceOf(v: ModelVersion): ModelSource {
  return { name: v.name, version: v.version, file: v.file, sha256: v.manifest.sha256, manifest: v.manifest };
}

/** The manifest beside a plain model file, when there is one: model.onnx -> model.manifest.json. */
function sideManifest(file: string): Partial<ModelManifest> | undefined {
  const candidate = file.replace(/\.onnx$/i, '') + '.manifest.json';
  try {
    return JSON.parse(fs.readFileSync(candidate, 'utf8')) as Partial<ModelManifest>;
  } catch {
    return undefined;
  }
}

/**
 * A plain .onnx file. Its version is the start of its sha256, so replacing the file is a new version (hot-swapped
 * like a store activation). A manifest beside it (same name, .manifest.json) adds features, labels, threshold.
 */
export class FileModel extends FollowedModel implements ModelHandle {
  readonly store = undefined;
  private last: ModelSource | undefined;
  private readonly bad = new Set<string>();

  constructor(private readonly file: string, private readonly pollMs = 2000) {
    super();
    if (!file) this.problem = 'no model file is set';
    this.last = this.read();
  }

  get name(): string {
    return (this.file.split(/[\\/]/).pop() ?? this.file).replace(/\.onnx$/i, '');
  }

  private read(): ModelSource | undefined {
    if (this.problem) return undefined;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.file);
    } catch {
      return undefined;
    }
    const sha256 = sha256Hex(bytes);
    const manifest = sideManifest(this.file);
    return {
      name: manifest?.name ?? this.name,
      version: manifest?.version && manifest.sha256 === sha256 ? manifest.version : sha256.slice(0, 8),
      file: this.file,
      sha256,
      manifest,
    };
  }

  current(): ModelSource | undefined {
    return this.last && !this.bad.has(this.last.sha256!) ? this.last : undefined;
  }

  private readonly onFile = () => {
    const now = this.read();
    if (now?.sha256 === this.last?.sha256) return;
    this.last = now;
    if (now && this.bad.has(now.sha256!)) return;
    this.changed(now);
  };

  protected watch(): () => void {
    const stop = pollFile(this.file, this.pollMs, this.onFile);
    // a change between reading the file (constructor) and polling it: compare now
    this.onFile();
    return stop;
  }

  /** A plain file has no older version to fall back to: the bad content is remembered and not offered again. */
  reportBad(version: string, _reason: string): void {
    if (this.last && this.last.version === version) this.bad.add(this.last.sha256!);
  }

  /** No updater follows a plain file's runs, or stages a candidate for it. */
  reportRun(): void {
    return undefined;
  }

  subscribeShadow(): () => void {
    return () => undefined;
  }

  reportShadow(): void {
    return undefined;
  }
}

/** A handle for a configuration that cannot work: no version, the problem for every user to show. */
export function unusableModel(name: string, problem: string): ModelHandle {
  const none = () => undefined;
  return { problem, name, store: undefined, current: none, subscribe: (l) => (l(undefined), none), reportBad: none, reportRun: none, subscribeShadow: () => none, reportShadow: none };
}

export interface ModelSettings {
  userDir?: string;
  edgeIntelligenceModelDir?: string;
}

/** Where stores live unless the node names a directory: <userDir>/edge-intelligence/models. */
export function defaultStoreDir(settings: ModelSettings): string {
  return settings.edgeIntelligenceModelDir ?? path.join(settings.userDir ?? process.cwd(), 'edge-intelligence', 'models');
}


/**
 * The model updater: takes an offered signed manifest (from an HTTP registry, an MQTT push or a directory), and
 * verifies, downloads, checks and installs the version into the model store, then switches the active pointer,
 * which every edge-infer follows with a hot swap. A new version is then on probation for its first N runs: a
 * failed run rolls it back to the previous version.
 *
 * Every step is one of the store's atomic ones (a version appears whole or not at all; the pointer is replaced
 * atomically), so a power loss at any moment leaves the old version or the new one active, never a broken one.
 * The download goes to a temporary file that is removed on the next start.
 *
 * A manifest with a rollout share is taken only by the gateways whose stable position falls under it (the others
 * report it held). A verified version can be staged in shadow first (asked by the node or the manifest): every
 * edge-infer on the model runs it beside the active version, and the gate then activates or rejects it. The shadow
 * is persisted, so a restart resumes it (counting again from zero); a pin, a rollback or a newer offer cancels it.
 *
 * Reports ({model, version, state, reason, code}) go out as events: downloading (with progress), verifying,
 * health-check, shadow (with the figures so far), active, confirmed, rejected, rolled-back, cancelled, pinned,
 * unpinned, held.
 */
import crypto, { KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { loadJson, saveJson } from '../shared/json-store';
import { compareVersions, isSafeName } from '../models/model-manifest';
import { ModelStore, sha256Hex } from '../models/model-store';
import { download } from './update-fetch';
import { resolveArtifact, SignedManifest, UpdateManifest, UpdateRefused, verifyArtifact, verifyManifest } from './update-manifest';
import { healthCheck, HealthError } from './model-health';
import type { SessionKeeper } from '../inference/session-pool';
import { inRollout } from './rollout';
import { gateFor, ShadowFigures, ShadowGate, ShadowObservation, ShadowTally } from '../monitoring/shadow-gate';

/** `serving`: what the store serves when an updater starts, before any check (its node's first report) */
export type UpdateState = 'serving' | 'up-to-date' | 'held' | 'downloading' | 'verifying' | 'health-check' | 'shadow' | 'active'
  | 'confirmed' | 'rejected' | 'rolled-back' | 'cancelled' | 'pinned' | 'unpinned';

export interface UpdateReport {
  model: string;
  version?: string;
  state: UpdateState;
  /** the version served before (active, rolled-back) */
  previous?: string;
  reason?: string;
  /** why a version was refused or rolled back: a RefusalCode, "health-check", "download", "run-failed", "load-failed" */
  code?: string;
  /** 0..1 while downloading */
  progress?: number;
  /** a manifest with a rollout: its share and this gateway's position (held when the position is not under it) */
  rollout?: { share: number; position: number };
  /** the shadow's figures and gate (shadow, and the active or rejected report that ends it) */
  shadow?: ShadowFigures & { gate: ShadowGate };
}

/** Where a manifest came from: relative artifacts resolve against it. */
export interface OfferBase {
  url?: string;
  dir?: string;
}

export type UpdateStep = 'downloaded' | 'verified' | 'installed' | 'activated';

export interface UpdaterOptions {
  store: ModelStore;
  /** where the session that passed the health check goes, so the new version serves from it */
  sessions?: SessionKeeper;
  model: string;
  keys: Map<string, KeyObject>;
  requireSignature: boolean;
  maxBytes: number;
  idleTimeoutMs: number;
  attempts: number;
  /** runs a new version must pass before it is confirmed; a failure among them rolls it back (0: no probation) */
  probationRuns: number;
  /** versions kept in the store (plus the active and previous ones) */
  keep: number;
  /** the updater's own state: the highest version seen, a pin */
  stateFile: string;
  /** where downloads are written while in progress */
  tempDir: string;
  packageVersion: string;
  /** this gateway's id: its place in a staged rollout */
  gateway: string;
  /** the node's shadow gate; undefined: a shadow only when a manifest asks for one */
  shadow?: ShadowGate;
  now?: () => number;
  /** a test hook between the steps (a test "loses power" there) */
  step?: (step: UpdateStep) => void;
}

interface PersistedState {
  highest?: string;
  pinned?: string;
  /** the candidate in shadow: written before it is installed, so no restart can activate it unchecked */
  shadowing?: { version: string; gate: ShadowGate };
}

interface Shadowing {
  version: string;
  tally: ShadowTally;
  timer?: NodeJS.Timeout;
  /** the tenths of the samples reported so far */
  shown: number;
  judged: boolean;
}

export class ModelUpdater extends EventEmitter {
  private queue: Promise<unknown> = Promise.resolve();
  private probation: { version: string; previous?: string; left: number } | undefined;
  private state: PersistedState;
  private shadow: Shadowing | undefined;
  private closed = false;

  constructor(private readonly o: UpdaterOptions) {
    super();
    this.state = loadJson<PersistedState>(o.stateFile).value ?? {};
    // what a crash left half-downloaded
    fs.mkdirSync(o.tempDir, { recursive: true });
    for (const f of fs.readdirSync(o.tempDir)) if (f.endsWith('.part')) fs.rmSync(path.join(o.tempDir, f), { force: true });
    o.store.on('run', this.onRun);
    o.store.on('bad', this.onBad);
    o.store.on('shadow-run', this.onShadowRun);
  }

  /** Resumes a shadow the state file holds from before a restart (call once the reports are listened to). */
  start(): void {
    const s = this.state.shadowing;
    if (!s || this.shadow) return;
    const v = this.o.store.version(this.o.model, s.version);
    if (v && !v.bad && this.o.store.pointer(this.o.model)?.version !== s.version) this.beginShadow(s.version, s.gate);
    else this.forgetShadow();
  }

  get pinned(): string | undefined {
    return this.state.pinned;
  }

  /** The version a new manifest must be above: the highest installed or ever seen. */
  private highest(): string | undefined {
    const versions = [this.state.highest, ...this.o.store.versions(this.o.model).map((v) => v.version)].filter((v): v is string => !!v);
    return versions.sort(compareVersions).pop();
  }

  private report(r: Omit<UpdateReport, 'model'>): UpdateReport {
    const full = { model: this.o.model, ...r };
    if (!this.closed) this.emit('report', full);
    return full;
  }

  private save(): void {
    saveJson(this.o.stateFile, this.state);
  }

  /** One thing at a time: offers, rollbacks and pins wait their turn. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** An offered manifest: verified, downloaded, checked, installed, activated. Never throws; the report says. */
  offer(envelope: unknown, base: OfferBase): Promise<UpdateReport> {
    return this.serial(() => this.apply(envelope, base));
  }

  private async apply(envelope: unknown, base: OfferBase): Promise<UpdateReport> {
    const offered = (envelope as SignedManifest | undefined)?.manifest;
    let m: UpdateManifest;
    try {
      m = verifyManifest(envelope, {
        keys: this.o.keys, requireSignature: this.o.requireSignature, model: this.o.model, highest: this.highest(),
        pinned: this.state.pinned, maxBytes: this.o.maxBytes, packageVersion: this.o.packageVersion, now: (this.o.now ?? Date.now)(),
      });
    } catch (err) {
      // the version already installed, offered again (a poll, a retained message): nothing to do, unless a power
      // loss came between its install and its activation
      // (an unsafe version names no directory: it is only reported)
      const safeVersion = offered && isSafeName(offered.version) ? offered.version : undefined;
      const installed = safeVersion ? this.o.store.version(this.o.model, safeVersion) : undefined;
      if (err instanceof UpdateRefused && err.code === 'downgrade' && installed && installed.manifest.sha256 === offered!.sha256) {
        if (this.shadow?.version === installed.version) return { model: this.o.model, version: installed.version, state: 'shadow' };
        const unfinished = !installed.bad && !this.state.pinned && installed.version === this.highest()
          && this.o.store.pointer(this.o.model)?.version !== installed.version;
        if (unfinished) return this.afterInstall(offered as UpdateManifest);
        return { model: this.o.model, version: offered!.version, state: 'up-to-date' };
      }
      return this.refuse(safeVersion, err);
    }
    if (this.state.pinned && m.version !== this.state.pinned) {
      return this.report({ version: m.version, state: 'held', reason: `pinned to ${this.state.pinned}` });
    }
    const rollout = inRollout(m.rollout, this.o.gateway, m.name);
    if (!rollout.taken) {
      return this.report({
        version: m.version, state: 'held', code: 'rollout', rollout: { share: m.rollout!.share, position: rollout.position },
        reason: `outside the rollout: this gateway's position ${rollout.position.toFixed(3)} is not under the share ${m.rollout!.share}`,
      });
    }
    if (this.shadow) this.cancelShadow(`${m.version} was offered`);
    if (this.o.store.version(m.name, m.version)) {
      // installed before (e.g. a pinned downgrade): activation alone
      return this.activate(m.version);
    }
    const part = path.join(this.o.tempDir, `${m.name}-${m.version}-${crypto.randomBytes(4).toString('hex')}.part`);
    try {
      const where = resolveArtifact(m, base);
      this.report({ version: m.version, state: 'downloading', progress: 0 });
      if ('url' in where) {
        let shown = 0;
        await download(where.url, part, {
          maxBytes: this.o.maxBytes, idleTimeoutMs: this.o.idleTimeoutMs, attempts: this.o.attempts,
          onProgress: (received, total) => {
            // a report per tenth, not per chunk
            const progress = total ? Math.floor((received / total) * 10) / 10 : 0;
            if (progress > shown) this.report({ version: m.version, state: 'downloading', progress: (shown = progress) });
          },
        });
      }
      // read once: hashed, checked and installed from memory
      const file = 'url' in where ? part : where.file;
      const size = fs.statSync(file).size;
      if (size > this.o.maxBytes) throw new UpdateRefused('too-large', `the model file has ${size} bytes, above the limit of ${this.o.maxBytes}`);
      const bytes = fs.readFileSync(file);
      this.o.step?.('downloaded');
      this.report({ version: m.version, state: 'verifying' });
      verifyArtifact(m, bytes.length, sha256Hex(bytes));
      this.report({ version: m.version, state: 'health-check' });
      await healthCheck(bytes, m, this.o.sessions);
      // a node closed meanwhile (a redeploy) leaves the store to its successor
      if (this.closed) throw new Error('the updater was closed');
      this.o.step?.('verified');
      const gate = this.gateOf(m);
      if (gate) {
        this.state.shadowing = { version: m.version, gate };
        this.save();
      }
      this.o.store.install(m, bytes);
      this.o.step?.('installed');
    } catch (err) {
      if (this.state.shadowing?.version === m.version) this.forgetShadow();
      return this.refuse(m.version, err);
    } finally {
      fs.rmSync(part, { force: true });
    }
    return this.afterInstall(m);
  }

  /** The gate a freshly installed version must pass; none when nothing is served yet (nothing to compare with). */
  private gateOf(m: UpdateManifest): ShadowGate | undefined {
    return this.o.store.active(this.o.model) ? gateFor(m.shadow, this.o.shadow) : undefined;
  }

  private afterInstall(m: UpdateManifest): UpdateReport {
    const gate = this.state.shadowing?.version === m.version ? this.state.shadowing.gate : this.gateOf(m);
    return gate ? this.beginShadow(m.version, gate) : this.activate(m.version);
  }

  /** The candidate goes to every reader of the model, in shadow; the gate decides when its counts are in. */
  private beginShadow(version: string, gate: ShadowGate): UpdateReport {
    const now = (this.o.now ?? Date.now)();
    this.state.shadowing = { version, gate };
    this.save();
    const sh: Shadowing = { version, tally: new ShadowTally(gate, now), shown: 0, judged: false };
    this.shadow = sh;
    if (gate.minutes > 0) {
      sh.timer = setTimeout(() => void this.serial(() => this.judge(sh)), gate.minutes * 60_000);
      sh.timer.unref();
    }
    this.o.store.setShadow(this.o.model, version);
    return this.report({ version, state: 'shadow', shadow: { ...sh.tally.figures(now), gate } });
  }

  /** What an edge-infer's shadow run found: counted, and judged once the gate has what it needs. */
  private readonly onShadowRun = (name: string, version: string, o: ShadowObservation): void => {
    const sh = this.shadow;
    if (name !== this.o.model || !sh || sh.version !== version || sh.judged) return;
    sh.tally.add(o);
    const now = (this.o.now ?? Date.now)();
    if (sh.tally.complete(now)) {
      sh.judged = true;
      void this.serial(() => this.judge(sh));
      return;
    }
    // progress by tenths, as a download's
    const f = sh.tally.figures(now);
    const tenth = sh.tally.gate.samples > 0 ? Math.floor((f.samples / sh.tally.gate.samples) * 10) : 0;
    if (tenth > sh.shown) {
      sh.shown = tenth;
      this.report({ version, state: 'shadow', shadow: { ...f, gate: sh.tally.gate } });
    }
  };

  /** The gate's verdict: the candidate becomes active (and goes on probation) or is rejected and marked bad. */
  private judge(sh: Shadowing): UpdateReport | undefined {
    if (this.shadow !== sh) return undefined;
    this.forgetShadow();
    const now = (this.o.now ?? Date.now)();
    const shadow = { ...sh.tally.figures(now), gate: sh.tally.gate };
    const verdict = sh.tally.verdict(now);
    if (verdict.pass) return this.activate(sh.version, shadow);
    const reason = `shadow gate: ${verdict.reasons.join('; ')}`;
    this.o.store.markBad(this.o.model, sh.version, reason);
    return this.report({ version: sh.version, state: 'rejected', code: 'shadow-gate', reason, shadow });
  }

  /** Stops the shadow without a verdict (a pin, a rollback, a newer version); the candidate stays installed. */
  private cancelShadow(reason: string): void {
    const sh = this.shadow;
    if (!sh) return;
    this.forgetShadow();
    this.report({ version: sh.version, state: 'cancelled', reason: `the shadow was cancelled: ${reason}` });
  }

  private forgetShadow(): void {
    if (this.shadow) {
      clearTimeout(this.shadow.timer);
      this.shadow = undefined;
      this.o.store.setShadow(this.o.model, undefined);
    }
    if (this.state.shadowing) {
      this.state.shadowing = undefined;
      this.save();
    }
  }

  private activate(version: string, shadow?: UpdateReport['shadow']): UpdateReport {
    const previous = this.o.store.active(this.o.model)?.version;
    this.o.store.activate(this.o.model, version);
    this.o.step?.('activated');
    if (!this.state.highest || compareVersions(version, this.state.highest) > 0) this.state.highest = version;
    this.save();
    this.probation = this.o.probationRuns > 0 ? { version, previous, left: this.o.probationRuns } : undefined;
    this.o.store.prune(this.o.model, this.o.keep);
    return this.report({ version, previous, state: 'active', shadow });
  }

  private refuse(version: string | undefined, err: unknown): UpdateReport {
    const code = err instanceof UpdateRefused ? err.code : err instanceof HealthError ? 'health-check' : 'download';
    return this.report({ version, state: 'rejected', code, reason: (err as Error).message });
  }

  /** A run of some version, reported by a reader: a failure of the version on probation rolls it back. */
  private readonly onRun = (name: string, version: string, ok: boolean, reason?: string): void => {
    const p = this.probation;
    if (name !== this.o.model || !p || p.version !== version) return;
    if (ok) {
      if (--p.left === 0) {
        this.probation = undefined;
        this.report({ version, state: 'confirmed' });
      }
      return;
    }
    this.probation = undefined;
    void this.serial(() => {
      this.o.store.markBad(this.o.model, version, `failed in service: ${reason ?? 'a run failed'}`);
      return this.fallBack(version, 'run-failed', reason ?? 'a run failed');
    });
  };

  /** A reader could not load or warm up the version on probation (it marked it bad): the same rollback. */
  private readonly onBad = (name: string, version: string, reason: string): void => {
    if (name !== this.o.model || this.probation?.version !== version) return;
    this.probation = undefined;
    void this.serial(() => this.fallBack(version, 'load-failed', reason));
  };

  /** Points the store back at the version readers fall back to, and reports it. */
  private fallBack(version: string, code: string, reason: string): UpdateReport {
    const back = this.o.store.active(this.o.model)?.version;
    if (back && back !== version) this.o.store.activate(this.o.model, back);
    return this.report({ version, previous: back, state: 'rolled-back', code, reason });
  }

  /** The operator's rollback: the version before the active one, held (pinned) until unpinned. */
  rollback(): Promise<UpdateReport> {
    return this.serial(() => {
      this.cancelShadow('a rollback was asked for');
      const from = this.o.store.active(this.o.model)?.version;
      try {
        const to = this.o.store.rollback(this.o.model).version;
        this.probation = undefined;
        this.state.pinned = to;
        this.save();
        return this.report({ version: to, previous: from, state: 'rolled-back', reason: `asked for; ${to} is pinned until unpinned` });
      } catch (err) {
        return this.report({ version: from, state: 'rejected', code: 'rollback', reason: (err as Error).message });
      }
    });
  }

  /** Serves an installed version and holds it: offers of any other version wait until unpinned. */
  pin(version: string): Promise<UpdateReport> {
    return this.serial(() => {
      this.cancelShadow(`pinned to ${version}`);
      if (!this.o.store.version(this.o.model, version)) {
        // not installed: the pin lets the source offer it, even when it is older
        this.state.pinned = version;
        this.save();
        return this.report({ version, state: 'pinned', reason: 'not installed yet: waiting for the source to offer it' });
      }
      const previous = this.o.store.active(this.o.model)?.version;
      this.o.store.activate(this.o.model, version);
      this.state.pinned = version;
      this.probation = undefined;
      this.save();
      return this.report({ version, previous, state: 'pinned' });
    });
  }

  unpin(): Promise<UpdateReport> {
    return this.serial(() => {
      const was = this.state.pinned;
      this.state.pinned = undefined;
      this.save();
      return this.report({ version: was, state: 'unpinned' });
    });
  }

  /** The shadow stops with the node; the state file keeps it for the next start. */
  close(): void {
    this.closed = true;
    if (this.shadow) {
      clearTimeout(this.shadow.timer);
      this.shadow = undefined;
      this.o.store.setShadow(this.o.model, undefined);
    }
    this.o.store.off('run', this.onRun);
    this.o.store.off('bad', this.onBad);
    this.o.store.off('shadow-run', this.onShadowRun);
  }
}

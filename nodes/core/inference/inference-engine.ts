/**
 * One inference node's engine: maps payloads to tensors, admits them through the batch scheduler, runs them on
 * the current model and post-processes the outputs.
 *
 * Hot swap: a new version is loaded and warmed up while the current one keeps serving; only when it passed does
 * traffic switch. Messages already mapped for the old version finish on it; the old session is given back when
 * its last message is done. A version that fails to load or to warm up is refused and the old one keeps serving.
 */
import { EventEmitter } from 'node:events';
import { BatchScheduler, OverflowPolicy, SchedulerCounters } from './batch-scheduler';
import { ModelSource, TensorInfo } from '../models/model-manifest';
import { checkPostOptions, pickOutput, PostOptions, postprocess, rowScores } from './postprocess';
import { ModelWatch, resultScore, WatchOptions } from '../monitoring/model-watch';
import type { DriftSummary } from '../monitoring/drift-monitor';
import type { Contribution } from '../monitoring/explain';
import { SessionLease, SessionPool, SessionSettings } from './session-pool';
import { allFinite, fromOrt, timedRun, toOrt } from './ort-tensors';
import { ShadowJob, ShadowRunner } from './shadow-runner';
import type { ShadowObservation } from '../monitoring/shadow-gate';
import { Feed, hasBatchDim, InputError, isSupportedType, MappedInput, mapInput, MappingOptions, mergeInputs, NanPolicy, OutputTensor, shapeText, splitOutputs } from './tensor-map';


export interface EngineOptions extends SessionSettings {
  post: PostOptions;
  nan: NanPolicy;
  maxValues: number;
  maxBatch: number;
  maxWaitMs: number;
  concurrency: number;
  queueLimit: number;
  overflow: OverflowPolicy;
  /** drift and explanations (none when absent) */
  watch?: WatchOptions;
}

export interface InferenceInfo {
  model: string;
  version: string;
  /** time in the model for the batch this message ran in */
  latencyMs: number;
  /** time spent waiting in the queue */
  queueMs: number;
  /** messages in the batch */
  batch: number;
  /** the input drift of this version: the last complete window (when drift is watched) */
  drift?: DriftSummary;
  /** the features that made this result, the largest first (when explanations are on and it is flagged) */
  explain?: Contribution[];
}

export interface InferenceResult {
  payload: unknown;
  inference: InferenceInfo;
}

/** A loaded, warmed-up version with the users still on it. */
export interface Served {
  id: number;
  source: ModelSource;
  lease: SessionLease;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  post: PostOptions;
  mapping: Omit<MappingOptions, 'payloadFeatures'>;
  /** whether this model's outputs follow the batch dimension (found out at warm-up) */
  batchable: boolean;
  /** drift and explanations, when the node watches them */
  watch?: ModelWatch;
  users: number;
  retired: boolean;
}

interface Job extends ShadowJob {
  served: Served;
  enqueuedAt: number;
}

/** The model ran but its answer for this message is not a number (NaN or infinity). */
export class OutputError extends Error {}

export class SwapError extends Error {
  /** true when the version itself is at fault (not the node's settings), so the store should mark it bad */
  constructor(message: string, readonly modelFault = true) {
    super(message);
  }
}

/** A neutral input for warm-up: zeros (false) with every dynamic dimension set to `rows` (first) or 1. */
function warmupFeeds(inputs: TensorInfo[], rows: number): Record<string, Feed> {
  const feeds: Record<string, Feed> = {};
  for (const spec of inputs) {
    const dims = spec.shape.map((d, i) => (typeof d === 'number' && d >= 0 ? (i === 0 && hasBatchDim(spec) && d === 1 ? rows : d) : i === 0 ? rows : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    const array = spec.type === 'int64' ? new BigInt64Array(size) : spec.type === 'float64' ? new Float64Array(size)
      : spec.type === 'int32' ? new Int32Array(size) : spec.type === 'bool' || spec.type === 'uint8' ? new Uint8Array(size)
      : spec.type === 'int8' ? new Int8Array(size) : new Float32Array(size);
    feeds[spec.name] = { type: spec.type, data: array, dims };
  }
  return feeds;
}

export class InferenceEngine extends EventEmitter {
  private served: Served | undefined;
  private swapping: Promise<void> | undefined;
  /** a candidate run beside the served version, and the count of shadow loads (a later one wins) */
  private shadowing: ShadowRunner | undefined;
  private shadowLoads = 0;
  private nextId = 1;
  /** a key no other job has: the job runs alone */
  private solo = 0;
  private closed = false;
  readonly scheduler: BatchScheduler<Job, InferenceResult>;

  constructor(private readonly pool: SessionPool, private readonly o: EngineOptions) {
    super();
    this.scheduler = new BatchScheduler<Job, InferenceResult>({
      maxBatch: o.maxBatch,
      maxWaitMs: o.maxWaitMs,
      concurrency: o.concurrency,
      queueLimit: o.queueLimit,
      overflow: o.overflow,
      batchKey: (job) => (job.served.batchable && job.input.batchKey ? `${job.served.id}|${job.input.batchKey}` : `solo${this.solo++}`),
      run: (jobs) => this.run(jobs),
    });
  }

  /** The version serving now. */
  get current(): ModelSource | undefined {
    return this.served?.source;
  }

  get counters(): SchedulerCounters {
    return this.scheduler.counters;
  }

  /**
   * Loads and warms up a version, then switches to it. Throws (and keeps serving the old one) when the new
   * version cannot serve. Swaps are serialized: a second call waits for the first.
   */
  async use(source: ModelSource): Promise<void> {
    const previous = this.swapping ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.swapTo(source));
    this.swapping = next;
    try {
      await next;
    } finally {
      if (this.swapping === next) this.swapping = undefined;
    }
  }

  private async swapTo(source: ModelSource): Promise<void> {
    if (this.closed) throw new SwapError('the node is closing', false);
    const lease = await this.pool.acquire(source.file, source.sha256, { threads: this.o.threads });
    let candidate: Served;
    try {
      candidate = await this.prepare(source, lease);
    } catch (err) {
      lease.release();
      throw err;
    }
    if (this.closed) {
      lease.release();
      throw new SwapError('the node is closing', false);
    }
    const old = this.served;
    this.served = candidate;
    if (old) this.retire(old);
    this.emit('swapped', source, old?.source);
    if (candidate.watch?.notes.length) this.emit('watch-notes', source, candidate.watch.notes);
  }

  /**
   * Runs a candidate beside the served version on the same inputs, its results compared and never sent on
   * ('shadow-run' events with the counts); undefined stops. Never throws: a candidate that cannot load is a failed
   * shadow run.
   */
  async shadow(source: ModelSource | undefined): Promise<void> {
    const load = ++this.shadowLoads;
    this.shadowing?.stop();
    this.shadowing = undefined;
    if (!source || this.closed) return;
    const report = (o: ShadowObservation) => this.emit('shadow-run', source, o);
    let lease: SessionLease | undefined;
    try {
      lease = await this.pool.acquire(source.file, source.sha256, { threads: this.o.threads });
      const served = await this.prepare(source, lease, false);
      if (load !== this.shadowLoads || this.closed) return lease.release();
      this.shadowing = new ShadowRunner(served, report);
    } catch (err) {
      lease?.release();
      if (load === this.shadowLoads) ShadowRunner.failedToLoad((err as Error).message.split('\n')[0], report);
    }
  }

  /** Checks a loaded version against the node's settings and warms it up; throws a SwapError with the reason. */
  private async prepare(source: ModelSource, lease: SessionLease, watched = true): Promise<Served> {
    const { inputs, outputs } = lease.loaded;
    const m = source.manifest ?? {};
    const unsupported = inputs.filter((i) => !isSupportedType(i.type));
    if (unsupported.length) {
      throw new SwapError(`input "${unsupported[0].name}" has type ${unsupported[0].type}, which this node cannot feed`, false);
    }
    const post: PostOptions = { ...this.o.post, labels: m.labels, threshold: this.o.post.threshold ?? m.threshold };
    const problems = checkPostOptions(outputs, post);
    if (problems.length) throw new SwapError(problems.join('; '), false);
    // chosen once for the version, not for every message
    if (post.mode !== 'raw') post.output = pickOutput(outputs, post).name;
    const width = inputs[0].shape[inputs[0].shape.length - 1];
    for (const [what, list] of [['features', m.features], ['preprocessing values', m.preprocessing?.scale]] as const) {
      if (list && typeof width === 'number' && width >= 0 && list.length !== width) {
        throw new SwapError(`the manifest lists ${list.length} ${what}, the model's input "${inputs[0].name}" takes ${width} (shape ${shapeText(inputs[0].shape)})`);
      }
    }
    const session = lease.loaded.session;
    const batchable = inputs.every((i) => i.shape.length >= 2 && (typeof i.shape[0] === 'string' || (i.shape[0] as number) < 0));
    let followsBatch = false;
    try {
      const rows = batchable ? 2 : 1;
      const out = fromOrt(await session.run(toOrt(warmupFeeds(inputs, rows))));
      for (const info of outputs) {
        const t = out[info.name];
        if (!t) throw new SwapError(`warm-up: output "${info.name}" is missing`);
        if (!allFinite(t)) {
          throw new SwapError(`warm-up: output "${info.name}" is not finite for a neutral input`);
        }
      }
      followsBatch = batchable && Object.values(out).every((t) => t.dims[0] === rows);
    } catch (err) {
      if (err instanceof SwapError) throw err;
      throw new SwapError(`warm-up run failed: ${(err as Error).message.split('\n')[0]}`);
    }
    const w = this.o.watch;
    const watch = watched && w && (w.drift || w.explain !== 'off') ? new ModelWatch({
      features: m.features, training: m.training, preprocessing: m.preprocessing, width, mode: post.mode,
      occludable: followsBatch && inputs.length === 1 && inputs[0].shape.length === 2 && /^float(32|64)$/.test(inputs[0].type),
    }, w) : undefined;
    return {
      id: this.nextId++,
      source,
      lease,
      inputs,
      outputs,
      post,
      mapping: { features: m.features, preprocessing: m.preprocessing, nan: this.o.nan, maxValues: this.o.maxValues },
      batchable: followsBatch && this.o.maxBatch > 1,
      watch,
      users: 0,
      retired: false,
    };
  }

  private retire(s: Served): void {
    s.retired = true;
    if (s.users === 0) s.lease.release();
  }

  /** Infers one message. Rejects with an InputError for a bad payload, an OverflowError when refused. */
  infer(payload: unknown, payloadFeatures?: unknown): Promise<InferenceResult> {
    const served = this.served;
    if (!served) return Promise.reject(new InputError(this.swapping ? 'the model is still loading' : 'no model is loaded'));
    let input: MappedInput;
    try {
      input = mapInput(payload, served.inputs, payloadFeatures === undefined ? served.mapping : { ...served.mapping, payloadFeatures });
    } catch (err) {
      return Promise.reject(err);
    }
    served.users++;
    const done = () => {
      if (--served.users === 0 && served.retired) served.lease.release();
    };
    const result = this.scheduler.submit({ served, input, payload, payloadFeatures, enqueuedAt: Date.now() });
    result.then(done, done);
    return result;
  }

  private async run(jobs: Job[]): Promise<Array<InferenceResult | Error>> {
    const served = jobs[0].served;
    const feeds = mergeInputs(jobs.map((j) => j.input));
    const startedAt = Date.now();
    let raw: Record<string, OutputTensor>;
    let latencyMs: number;
    try {
      const run = await timedRun(served.lease.loaded.session, feeds);
      raw = run.outputs;
      latencyMs = Math.round(run.ms * 1000) / 1000;
    } catch (err) {
      this.emit('run', served.source, false, (err as Error).message.split('\n')[0]);
      throw err;
    }
    // a version that answers NaN or infinity for real inputs is failing: it counts against its probation, and a
    // message whose own result is not finite gets an error, never {score: NaN, anomaly: false}
    const finite = Object.values(raw).every(allFinite);
    this.emit('run', served.source, finite, finite ? undefined : 'an output is not finite');
    const perJob = splitOutputs(raw, jobs.map((j) => j.input.rows));
    const results = jobs.map((job, i): InferenceResult | Error => {
      if (!finite && !Object.values(perJob[i]).every(allFinite)) {
        return new OutputError(`version ${served.source.version} answered NaN or infinity for this input`);
      }
      return {
        payload: postprocess(perJob[i], served.outputs, served.post, job.input.rows, job.input.batched),
        inference: {
          model: served.source.name,
          version: served.source.version,
          latencyMs,
          queueMs: Math.max(0, startedAt - job.enqueuedAt),
          batch: jobs.length,
        },
      };
    });
    if (this.shadowing && served === this.served) this.shadowing.offer(jobs, results, latencyMs);
    if (served.watch) await this.watchResults(served, jobs, results);
    return results;
  }

  /** Counts the run's inputs for drift (a changed level is a 'drift' event) and explains the flagged results. */
  private async watchResults(served: Served, jobs: Job[], results: Array<InferenceResult | Error>): Promise<void> {
    const watch = served.watch!;
    const first = served.inputs[0].name;
    const now = Date.now();
    const occluded: Array<{ result: InferenceResult; row: ArrayLike<number>; score: number; index: number }> = [];
    jobs.forEach((job, i) => {
      const r = results[i];
      if (r instanceof Error) return;
      const data = job.input.feeds[first].data as ArrayLike<number>;
      if (watch.drift) {
        const changed = watch.observe(data, job.input.rows, now);
        if (changed) this.emit('drift', served.source, changed);
        r.inference.drift = watch.drift.summary;
      }
      // one sample per message: a batch's rows would each need their own explanation
      if (watch.explain === 'off' || job.input.rows !== 1 || job.input.batched) return;
      const s = resultScore(r.payload, served.post.mode);
      if (!s?.explain) return;
      if (watch.explain === 'deviation') r.inference.explain = watch.deviations(data);
      else occluded.push({ result: r, row: data, score: s.score, index: s.index });
    });
    if (occluded.length) await this.occlude(served, occluded);
  }

  /** Occlusion for several results in one batched run: F rows per result, each with one feature at its baseline. */
  private async occlude(served: Served, items: Array<{ result: InferenceResult; row: ArrayLike<number>; score: number; index: number }>): Promise<void> {
    const watch = served.watch!;
    const spec = served.inputs[0];
    const f = watch.features.length;
    const rows = items.length * f;
    const data = spec.type === 'float64' ? new Float64Array(rows * f) : new Float32Array(rows * f);
    watch.occlusionInput(items.map((it) => it.row), data);
    let out: Record<string, OutputTensor>;
    try {
      out = fromOrt(await served.lease.loaded.session.run(toOrt({ [spec.name]: { type: spec.type, data, dims: [rows, f] } })));
    } catch {
      // the results go out without an explanation rather than not at all
      return;
    }
    items.forEach((it, k) => {
      const scores = rowScores(out, served.outputs, served.post, rows, it.index).slice(k * f, (k + 1) * f);
      it.result.inference.explain = watch.occlusion(it.score, scores);
    });
  }

  /** Stops admitting, waits for running work, gives the session back. */
  async close(): Promise<void> {
    this.closed = true;
    this.shadowing?.stop();
    this.shadowing = undefined;
    this.scheduler.clear('the node is closing');
    await this.swapping?.catch(() => undefined);
    await this.scheduler.idle();
    if (this.served) this.retire(this.served);
    this.served = undefined;
  }
}

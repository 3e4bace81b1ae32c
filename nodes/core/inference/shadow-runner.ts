/**
 * A candidate version run in shadow beside the served one: after each run of the served version, the same
 * payloads are mapped for the candidate and run on it; the two results are compared and the counts reported.
 * Nothing of it is sent on. At most one shadow run is in flight: while one runs, the served version's further
 * runs are not compared, so a shadow never queues work behind live traffic.
 */
import { compareResults, ShadowObservation } from '../monitoring/shadow-gate';
import { postprocess } from './postprocess';
import { allFinite, timedRun } from './ort-tensors';
import { MappedInput, mapInput, mergeInputs, splitOutputs } from './tensor-map';
import type { Served } from './inference-engine';

/** What a shadow run needs of a served message: its payload as it came, and the result the served version gave. */
export interface ShadowJob {
  payload: unknown;
  payloadFeatures: unknown;
  input: MappedInput;
}

function failed(reason: string): ShadowObservation {
  return { samples: 0, agreed: 0, activeFlags: 0, candidateFlags: 0, activeMs: 0, candidateMs: 0, failed: reason };
}

export class ShadowRunner {
  private busy = false;

  constructor(readonly served: Served, private readonly report: (o: ShadowObservation) => void) {}

  /** A load or warm-up that failed: the gate hears it as a failed run. */
  static failedToLoad(reason: string, report: (o: ShadowObservation) => void): void {
    report(failed(`it cannot serve here: ${reason}`));
  }

  /** After a run of the served version: the same inputs on the candidate, unless a shadow run is in flight. */
  offer(jobs: ShadowJob[], results: Array<{ payload: unknown } | Error>, activeMs: number): void {
    const s = this.served;
    if (s.retired) return;
    if (this.busy) return;
    const taken: Array<{ input: MappedInput; active: unknown; batched: boolean }> = [];
    for (let i = 0; i < jobs.length; i++) {
      const r = results[i];
      if (r instanceof Error) continue;
      const job = jobs[i];
      // mapped now, before any await: the payload is the one the served version saw
      let input: MappedInput;
      try {
        input = mapInput(job.payload, s.inputs, job.payloadFeatures === undefined ? s.mapping : { ...s.mapping, payloadFeatures: job.payloadFeatures });
      } catch (err) {
        return this.report(failed(`it refused an input the active version took: ${(err as Error).message}`));
      }
      taken.push({ input, active: r.payload, batched: job.input.batched });
    }
    if (!taken.length) return;
    this.busy = true;
    s.users++;
    // started on the next turn: the served version's results go out first
    setImmediate(() => {
      void this.run(taken, activeMs).then(this.report, (err: Error) => this.report(failed(err.message.split('\n')[0])))
        .finally(() => {
          this.busy = false;
          if (--s.users === 0 && s.retired) s.lease.release();
        });
    });
  }

  private async run(taken: Array<{ input: MappedInput; active: unknown; batched: boolean }>, activeMs: number): Promise<ShadowObservation> {
    const s = this.served;
    const key = taken[0].input.batchKey;
    // one run when the candidate batches these inputs together, else one run each (still one shadow in flight)
    const groups = s.batchable && key && taken.every((t) => t.input.batchKey === key) ? [taken] : taken.map((t) => [t]);
    const o: ShadowObservation = { samples: 0, agreed: 0, activeFlags: 0, candidateFlags: 0, activeMs, candidateMs: 0 };
    for (const group of groups) {
      const { outputs: raw, ms } = await timedRun(s.lease.loaded.session, mergeInputs(group.map((t) => t.input)));
      o.candidateMs += ms;
      if (!Object.values(raw).every(allFinite)) return failed('it answered NaN or infinity');
      const perJob = splitOutputs(raw, group.map((t) => t.input.rows));
      group.forEach((t, i) => {
        const c = compareResults(t.active, postprocess(perJob[i], s.outputs, s.post, t.input.rows, t.input.batched), s.post.mode, t.batched);
        o.samples += c.samples;
        o.agreed += c.agreed;
        o.activeFlags += c.activeFlags;
        o.candidateFlags += c.candidateFlags;
      });
    }
    return o;
  }

  /** No more shadow runs; the session goes back once the one in flight is done. */
  stop(): void {
    this.served.retired = true;
    if (this.served.users === 0) this.served.lease.release();
  }
}

/**
 * Shadow evaluation: a verified candidate version runs beside the active one on the same live inputs, its results
 * counted and never sent on, until the gate decides. The gate: enough samples (or minutes), the candidate decides
 * as the active version does on at least a share of them, flags about as often (within a band of share points),
 * never fails a run, and takes at most a factor of the active version's time: the median, over the runs compared,
 * of the candidate's time over the active version's (a freshly loaded session's first runs are slow; a sum would
 * count them against it).
 *
 * A "decision" is what a flow acts on: the anomaly verdict, the class, the top class; for raw tensors, every value
 * within 1 % (or 0.001) of the active version's.
 */
import type { OutputMode } from '../inference/postprocess';

export interface ShadowGate {
  /** samples compared before the verdict (0: minutes only) */
  samples: number;
  /** minutes at most before the verdict (0: samples only) */
  minutes: number;
  /** 0..1: the share of samples on which the candidate decides as the active version */
  agreement: number;
  /** 0..1: how far the candidate's anomaly rate may be from the active version's */
  anomalyRateChange: number;
  /** the candidate's time per run over the active version's, at most */
  latencyFactor: number;
}

export const DEFAULT_SHADOW: ShadowGate = { samples: 500, minutes: 0, agreement: 0.95, anomalyRateChange: 0.05, latencyFactor: 2 };

export const SHADOW_FIELDS = ['samples', 'minutes', 'agreement', 'anomalyRateChange', 'latencyFactor'] as const;

/** The fields of a gate that are wrong (the same rules for the node's settings and a manifest's `shadow`). */
export function shadowGateProblems(g: Partial<Record<keyof ShadowGate, unknown>>): Array<keyof ShadowGate> {
  const bad: Array<keyof ShadowGate> = [];
  const num = (k: keyof ShadowGate, ok: (v: number) => boolean) => {
    const v = g[k];
    if (v !== undefined && !(typeof v === 'number' && ok(v))) bad.push(k);
  };
  num('samples', (v) => Number.isInteger(v) && v >= 0 && v <= 10_000_000);
  num('minutes', (v) => v >= 0 && v <= 10_080);
  num('agreement', (v) => v >= 0 && v <= 1);
  num('anomalyRateChange', (v) => v >= 0 && v <= 1);
  num('latencyFactor', (v) => v >= 1 && v <= 1000);
  // a gate that could never end
  if (!bad.includes('samples') && !bad.includes('minutes') && g.samples === 0 && g.minutes === 0) bad.push('samples');
  return bad;
}

/**
 * The gate for a candidate: the manifest's fields over the node's, over the defaults. Undefined when neither the
 * node nor the manifest asks for a shadow.
 */
export function gateFor(manifest: Partial<ShadowGate> | undefined, node: ShadowGate | undefined): ShadowGate | undefined {
  if (!manifest && !node) return undefined;
  const gate = { ...DEFAULT_SHADOW, ...node };
  for (const k of SHADOW_FIELDS) if (typeof manifest?.[k] === 'number') gate[k] = manifest[k]!;
  return gate;
}

/** What one shadow run found, over the messages of one active run. */
export interface ShadowObservation {
  samples: number;
  agreed: number;
  activeFlags: number;
  candidateFlags: number;
  activeMs: number;
  candidateMs: number;
  /** the candidate failed: its run threw, answered NaN, or refused an input the active version took */
  failed?: string;
}

export interface ShadowFigures {
  samples: number;
  /** 0..1 */
  agreement: number;
  activeAnomalyRate: number;
  candidateAnomalyRate: number;
  /** the median over the runs compared of candidate time over active time */
  latencyFactor: number;
  failures: number;
  minutes: number;
}

const round = (v: number, digits = 4) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : 0);

type Decided = { decision: unknown; flag: boolean };

/** runs whose times the latency figure keeps (bounded, whatever the gate's samples) */
const RATIOS = 1000;

/** The decision of one sample's result. */
function decided(r: unknown, mode: OutputMode): Decided {
  const o = (mode === 'topk' && Array.isArray(r) ? r[0] : r) as { anomaly?: unknown; index?: unknown } | undefined;
  if (mode === 'anomaly') return { decision: o?.anomaly === true, flag: o?.anomaly === true };
  return { decision: o?.index, flag: false };
}

function flatNumbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) for (const x of v) flatNumbers(x, out);
  else if (v && typeof v === 'object') for (const k of Object.keys(v).sort()) flatNumbers((v as Record<string, unknown>)[k], out);
  return out;
}

function closeEnough(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= Math.max(0.001, 0.01 * Math.abs(x)));
}

/** One message's results compared: how many samples it carried, agreed on and flagged by each version. */
export function compareResults(active: unknown, candidate: unknown, mode: OutputMode, batched: boolean): Omit<ShadowObservation, 'activeMs' | 'candidateMs'> {
  if (mode === 'raw') {
    const agreed = closeEnough(flatNumbers(active), flatNumbers(candidate)) ? 1 : 0;
    return { samples: 1, agreed, activeFlags: 0, candidateFlags: 0 };
  }
  const a = batched ? (active as unknown[]) : [active];
  const c = batched ? (candidate as unknown[]) : [candidate];
  const o = { samples: a.length, agreed: 0, activeFlags: 0, candidateFlags: 0 };
  a.forEach((r, i) => {
    const x = decided(r, mode);
    const y = decided(c[i], mode);
    if (x.decision === y.decision) o.agreed++;
    if (x.flag) o.activeFlags++;
    if (y.flag) o.candidateFlags++;
  });
  return o;
}

/** The counts of one candidate's shadow, and the gate's verdict on them. */
export class ShadowTally {
  private samples = 0;
  private agreed = 0;
  private activeFlags = 0;
  private candidateFlags = 0;
  /** per run, candidate time over active time: the last RATIOS of them */
  private readonly ratios: number[] = [];
  private runs = 0;
  private failures: string[] = [];

  constructor(readonly gate: ShadowGate, readonly startedAt: number) {}

  add(o: ShadowObservation): void {
    if (o.failed) {
      this.failures.push(o.failed);
      return;
    }
    this.samples += o.samples;
    this.agreed += o.agreed;
    this.activeFlags += o.activeFlags;
    this.candidateFlags += o.candidateFlags;
    if (o.activeMs > 0 && o.candidateMs >= 0) this.ratios[this.runs++ % RATIOS] = o.candidateMs / o.activeMs;
  }

  private medianRatio(): number {
    if (!this.ratios.length) return 1;
    const s = [...this.ratios].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  figures(now: number): ShadowFigures {
    const n = this.samples;
    return {
      samples: n,
      agreement: round(n ? this.agreed / n : 0),
      activeAnomalyRate: round(n ? this.activeFlags / n : 0),
      candidateAnomalyRate: round(n ? this.candidateFlags / n : 0),
      latencyFactor: round(this.medianRatio(), 3),
      failures: this.failures.length,
      minutes: round((now - this.startedAt) / 60_000, 2),
    };
  }

  /** The gate decides at a failure, at the samples, or at the minutes, whichever comes first. */
  complete(now: number): boolean {
    const g = this.gate;
    return this.failures.length > 0 || (g.samples > 0 && this.samples >= g.samples) || (g.minutes > 0 && now - this.startedAt >= g.minutes * 60_000);
  }

  /** Passed, or the reasons it did not, in words with the figures. */
  verdict(now: number): { pass: boolean; reasons: string[] } {
    const f = this.figures(now);
    const g = this.gate;
    const reasons: string[] = [];
    const pct = (v: number) => `${round(v * 100, 1)} %`;
    if (this.failures.length) reasons.push(`the candidate failed ${this.failures.length} run(s): ${this.failures[0]}`);
    if (f.samples === 0) reasons.push('no live input was compared');
    else {
      if (f.agreement < g.agreement) reasons.push(`agreement ${pct(f.agreement)} is below ${pct(g.agreement)} over ${f.samples} samples`);
      const change = Math.abs(f.candidateAnomalyRate - f.activeAnomalyRate);
      if (change > g.anomalyRateChange + 1e-9) {
        reasons.push(`anomaly rate ${pct(f.candidateAnomalyRate)} against ${pct(f.activeAnomalyRate)}: more than ${pct(g.anomalyRateChange)} apart`);
      }
      if (f.latencyFactor > g.latencyFactor) reasons.push(`${f.latencyFactor}x the active version's time per run, above ${g.latencyFactor}x`);
    }
    return { pass: reasons.length === 0, reasons };
  }
}

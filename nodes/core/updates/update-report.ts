/**
 * How an updater's report is shown: the status words and badge, and the line it leaves in the log when it is one an
 * operator should find there (a refusal or rollback warns; a shadow's start and pass are logged). Words are message
 * keys with their values; the node translates them.
 */
import type { UpdateReport } from './model-updater';

export interface Words {
  key: string;
  vars: Record<string, unknown>;
}

type Fill = 'green' | 'yellow' | 'red' | 'blue' | 'grey';

const FILL: Record<string, Fill> = {
  serving: 'grey', active: 'green', confirmed: 'green', 'up-to-date': 'green', pinned: 'blue', unpinned: 'blue', held: 'blue',
  cancelled: 'blue', downloading: 'yellow', verifying: 'yellow', 'health-check': 'yellow', shadow: 'yellow', rejected: 'red', 'rolled-back': 'red',
};

const refused = (r: UpdateReport) => r.state === 'rejected' || r.state === 'rolled-back';
const pct = (v: number) => Math.round(v * 1000) / 10;

/** The status text as message key and values. */
export function statusWords(r: UpdateReport): Words {
  if (r.state === 'downloading') return { key: 'status.downloading', vars: { version: r.version, percent: Math.round((r.progress ?? 0) * 100) } };
  if (r.state === 'shadow') return { key: 'status.shadow', vars: { version: r.version, samples: r.shadow?.samples ?? 0, of: r.shadow?.gate.samples || '-' } };
  return { key: r.code === 'rollout' ? 'status.outside' : `status.${r.state}`, vars: { version: r.version ?? '' } };
}

export function statusBadge(r: UpdateReport): { fill: Fill; shape: 'dot' | 'ring' } {
  return { fill: FILL[r.state] ?? 'grey', shape: refused(r) ? 'ring' : 'dot' };
}

/** The log line a report calls for, if any; `active` is the version served while a shadow starts. */
export function logWords(r: UpdateReport, active: string | undefined): { level: 'warn' | 'log'; words: Words } | undefined {
  const base = { model: r.model, version: r.version ?? '?' };
  if (refused(r)) return { level: 'warn', words: { key: `log.${r.state}`, vars: { ...base, reason: r.reason ?? '' } } };
  const s = r.shadow;
  if (!s) return undefined;
  if (r.state === 'shadow' && s.samples === 0) {
    const until = s.gate.samples > 0 && s.gate.minutes > 0 ? 'log.shadowEither' : s.gate.samples > 0 ? 'log.shadowSamples' : 'log.shadowMinutes';
    return { level: 'log', words: { key: until, vars: { ...base, active: active ?? '?', samples: s.gate.samples, minutes: s.gate.minutes } } };
  }
  if (r.state === 'active') {
    return { level: 'log', words: { key: 'log.shadowPassed', vars: {
      ...base, agreement: pct(s.agreement), samples: s.samples, candidateRate: pct(s.candidateAnomalyRate), activeRate: pct(s.activeAnomalyRate), latency: s.latencyFactor,
    } } };
  }
  return undefined;
}

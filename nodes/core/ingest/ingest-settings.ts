/**
 * edge-ingest's settings from the editor's fields: the subscription (a shared one for several ingest instances),
 * the ledger's window and file, and every problem as a message key, checked in the editor and at deploy alike.
 */
import { Problem, toInt } from '../shared/fields';
import { validateTopicFilter } from '../connections/mqtt-topics';

export interface IngestSettings {
  /** what edge-uplink publishes to: `edge/${gateway}` by default, so `edge/+` takes every gateway */
  topic: string;
  qos: string;
  /** a shared subscription group: instances with the same group share the gateways' publishes */
  group?: string;
  /** ids a record may be behind the newest of its stream and still be waited for */
  window: string;
  /** the ledger's file name (shared by instances on one host); empty: the node's id */
  ledger?: string;
  /** restore order: how long a record may be held for an earlier one (ms); 0 or empty: as they come */
  holdMs?: string;
}

export interface IngestOptions {
  /** the filter subscribed, with `$share/<group>/` when a group is set */
  subscription: string;
  qos: 1 | 2;
  window: number;
  ledger?: string;
  holdMs: number;
  problems: Problem[];
}

export const DEFAULT_INGEST_TOPIC = 'edge/+';
/** ten minutes: longer and held records would be an outage's backlog in the ledger */
const MAX_HOLD_MS = 600_000;
/** a name that is one topic level and one file name */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function ingestOptions(def: IngestSettings): IngestOptions {
  const problems: Problem[] = [];
  const topic = (def.topic ?? '').trim() || DEFAULT_INGEST_TOPIC;
  const filterProblem = validateTopicFilter(topic);
  if (filterProblem) problems.push(filterProblem);
  else if (topic.startsWith('$share/')) problems.push({ key: 'topicShared' });
  const qos = toInt(def.qos, 1);
  if (qos !== 1 && qos !== 2) problems.push({ key: 'qos' });
  const group = (def.group ?? '').trim();
  if (group && !NAME.test(group)) problems.push({ key: 'group' });
  const window = toInt(def.window, 100_000);
  if (!(window >= 1 && window <= 10_000_000)) problems.push({ key: 'window' });
  const ledger = (def.ledger ?? '').trim();
  if (ledger && !NAME.test(ledger)) problems.push({ key: 'ledger' });
  const holdMs = toInt(def.holdMs, 0);
  if (!(holdMs >= 0 && holdMs <= MAX_HOLD_MS)) problems.push({ key: 'hold' });
  return {
    subscription: group ? `$share/${group}/${topic}` : topic,
    qos: qos === 2 ? 2 : 1,
    window,
    ledger: ledger || undefined,
    holdMs,
    problems,
  };
}

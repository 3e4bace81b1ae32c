/**
 * edge-uplink's settings from the editor's fields (strings): the queue's and the sender's options, and every
 * problem named by a key the node translates, so a bad setting is reported at deploy.
 */
import { gatewayIdProblem, toInt, toNumber } from '../shared/fields';
import type { QueueOptions } from './durable-queue';
import type { SenderOptions } from './uplink-sender';
import { pathProblem } from '../shared/message';
import { publishTopicProblem, topicMatcher, validateTopicFilter } from '../connections/mqtt-topics';
import type { BatchFormat } from './uplink-batch';

/** how each enqueue reaches the disk: flushed alone, flushed with the others of a few ms, or left to the OS */
export type Durability = 'fsync' | 'group' | 'os';
export const DURABILITY_MODES: readonly Durability[] = ['fsync', 'group', 'os'];
export type FullPolicy = 'drop-oldest' | 'drop-newest' | 'reject';
export const FULL_POLICIES: readonly FullPolicy[] = ['drop-oldest', 'drop-newest', 'reject'];
/** JSON array, NDJSON lines (both gzip optional), or the deflated column layout (columns.ts) */
export const BATCH_FORMATS: readonly BatchFormat[] = ['json', 'ndjson', 'columns'];

export interface UplinkSettings {
  topic: string;
  /** the gateway's id in every envelope and in `${gateway}` of the topic; empty: the Node-RED instance's */
  gateway?: string;
  qos: string;
  retain: boolean;
  format: string;
  gzip: boolean;
  maxRecords: string;
  batchWait: string;
  urgent?: string;
  maxPacketKb: string;
  durability: string;
  groupMs: string;
  maxSizeMb: string;
  maxAgeH: string;
  onFull: string;
  rateRecords: string;
  rateKbps: string;
  order: string;
  allow: string;
  deny: string;
  contentType: string;
  messageExpiry: string;
  userProperties: string;
}

export interface UplinkOptions {
  queue: QueueOptions;
  sender: SenderOptions;
  /** group commit: how long enqueues wait to share one flushed transaction */
  groupMs: number;
  allow: string[];
  deny: string[];
  /** records on these topics (their own topic, MQTT filters) are sent at once, with whatever waits */
  urgent: (topic: string) => boolean;
  /** keys of the `errors.*` messages for what is wrong */
  problems: string[];
}

function pick<T extends string>(value: string, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** `key=value` pairs, one per line or comma separated; undefined when a pair has no key. */
export function parseUserProperties(text: string | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(/[\n,]/).map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

/**
 * `instanceGateway`: the id a gateway has when the setting is empty (the glue passes the Node-RED instance's; the
 * editor, which does not know it, checks the rest with a stand-in).
 */
export function uplinkOptions(def: UplinkSettings, instanceGateway = 'gateway'): UplinkOptions {
  const problems: string[] = [];
  const gateway = (def.gateway ?? '').trim() || instanceGateway;
  if (gatewayIdProblem(gateway)) problems.push('gateway');
  const qos = toInt(def.qos, 1);
  const maxRecords = toInt(def.maxRecords, 500);
  const batchWaitMs = toNumber(def.batchWait, 1000);
  const maxPacketBytes = toInt(def.maxPacketKb, 128) * 1024;
  const durability = pick<Durability>(def.durability, DURABILITY_MODES, 'group');
  const groupMs = toNumber(def.groupMs, 20);
  const maxBytes = toNumber(def.maxSizeMb, 100) * 1_048_576;
  const maxAgeMs = toNumber(def.maxAgeH, 0) * 3_600_000;
  const recordsPerSecond = toNumber(def.rateRecords, 0);
  const bytesPerSecond = toNumber(def.rateKbps, 0) * 1024;
  if (qos !== 1 && qos !== 2) problems.push('qos');
  if (!(maxRecords >= 1 && maxRecords <= 100_000)) problems.push('maxRecords');
  if (!(batchWaitMs >= 0 && batchWaitMs <= 3_600_000)) problems.push('batchWait');
  if (!(maxPacketBytes >= 1024)) problems.push('maxPacket');
  if (durability === 'group' && !(groupMs >= 1 && groupMs <= 10_000)) problems.push('groupMs');
  if (!(maxBytes >= 0) || !(maxAgeMs >= 0)) problems.push('limits');
  if (!(recordsPerSecond >= 0) || !(bytesPerSecond >= 0)) problems.push('rate');

  const properties: Record<string, unknown> = {};
  const contentType = (def.contentType ?? '').trim();
  if (contentType) properties.contentType = contentType;
  const expiry = toNumber(def.messageExpiry, 0);
  if (!(expiry >= 0 && expiry <= 4_294_967_295)) problems.push('messageExpiry');
  if (expiry > 0) properties.messageExpiryInterval = Math.round(expiry);
  const userProperties = parseUserProperties(def.userProperties);
  if (!userProperties) problems.push('userProperties');
  else if (Object.keys(userProperties).length) properties.userProperties = userProperties;

  const urgentFilters = list(def.urgent);
  if (urgentFilters.some((f) => validateTopicFilter(f) !== undefined)) problems.push('urgent');
  const urgentMatchers = urgentFilters.map(topicMatcher);

  const allow = list(def.allow);
  const deny = list(def.deny);
  if ([...allow, ...deny].some((p) => pathProblem(p) !== undefined)) problems.push('paths');

  // "${topic}" in the template is the record's own topic (inserted as it is: no "$&" patterns), "${gateway}" the
  // gateway id; an empty template sends to the record's topic
  const template = (def.topic ?? '').trim();
  const pieces = template.split('${gateway}').join(gateway).split('${topic}');
  // the part a user typed must be publishable whatever the record's topic is
  if (template && publishTopicProblem(pieces.join('t'), false)) problems.push('topicTemplate');
  return {
    queue: { durability, maxBytes, maxAgeMs, onFull: pick<FullPolicy>(def.onFull, FULL_POLICIES, 'drop-oldest') },
    sender: {
      batch: { maxRecords, maxPacketBytes, format: pick<BatchFormat>(def.format, BATCH_FORMATS, 'json'), gzip: def.gzip !== false, gateway },
      batchWaitMs,
      topic: template ? (r) => pieces.join(r.topic) : (r) => r.topic,
      qos: qos === 2 ? 2 : 1,
      retain: def.retain === true,
      properties: Object.keys(properties).length ? properties : undefined,
      maxInFlight: 4,
      recordsPerSecond,
      bytesPerSecond,
      liveFirst: def.order === 'live-first',
    },
    groupMs,
    allow,
    deny,
    urgent: (topic) => urgentMatchers.some((m) => m(topic)),
    problems,
  };
}

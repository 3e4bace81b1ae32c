/**
 * MQTT's rules for what a user types, with no connection behind them (so the editor applies them too): broker
 * settings, topic filters and their matching, and the topics a publish may go to.
 */
import type { MqttConnectionOptions } from './mqtt-connection';
import type { Problem } from '../shared/fields';

/** Bytes of a text in UTF-8 (what MQTT counts), without Buffer, which the editor does not have. */
export function utf8Bytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:', 'tls:'];

/** A URL as logs and errors may show it: any user name or password in it replaced by "***". */
export function redactUrl(url: unknown): string {
  return String(url ?? '').replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@').slice(0, 300);
}

/** Checks the settings a user typed; returns problems as message keys with their values (empty when valid). */
export function validateMqttOptions(o: Partial<MqttConnectionOptions>): Problem[] {
  const problems: Problem[] = [];
  const add = (key: string, vars?: Record<string, unknown>) => problems.push(vars ? { key, vars } : { key });
  let url: URL | undefined;
  try {
    url = new URL(String(o.url ?? ''));
  } catch {
    add('url', { url: redactUrl(o.url) });
  }
  if (url && (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(String(o.url)))) add('urlCredentials');
  if (o.maxPacketBytes !== undefined && !(Number.isInteger(o.maxPacketBytes) && o.maxPacketBytes >= 1024 && o.maxPacketBytes <= 268_435_456)) {
    add('maxPacket');
  }
  if (url && !SCHEMES.includes(url.protocol)) add('scheme', { scheme: `${url.protocol}//`.slice(0, 40) });
  if (o.protocolVersion !== 4 && o.protocolVersion !== 5) add('protocolVersion');
  if (!Number.isInteger(o.keepalive) || o.keepalive! < 0 || o.keepalive! > 65535) add('keepalive');
  if (o.sessionExpiry !== undefined && (!Number.isInteger(o.sessionExpiry) || o.sessionExpiry < 0)) add('sessionExpiry');
  if (o.clean === false && !o.clientId) add('clientId');
  if (o.will && !o.will.topic) add('willTopic');
  if (o.will?.topic && /[+#]/.test(o.will.topic)) add('willWildcard');
  return problems;
}

/**
 * A matcher for an MQTT topic filter, including + and # wildcards and shared subscriptions ($share/group/filter).
 * Built once per subscription: matching runs for every message.
 */
export function topicMatcher(filter: string): (topic: string) => boolean {
  if (filter.startsWith('$share/')) filter = filter.split('/').slice(2).join('/');
  if (!/[+#]/.test(filter)) return (topic) => topic === filter;
  const f = filter.split('/');
  // Wildcards at the first level do not match topics starting with $ (MQTT 4.7.2).
  const firstIsWildcard = f[0] === '+' || f[0] === '#';
  return (topic) => {
    if (firstIsWildcard && topic.startsWith('$')) return false;
    const t = topic.split('/');
    for (let i = 0; i < f.length; i++) {
      if (f[i] === '#') return true;
      if (i >= t.length) return false;
      if (f[i] !== '+' && f[i] !== t[i]) return false;
    }
    return f.length === t.length;
  };
}

export function topicMatches(filter: string, topic: string): boolean {
  return topicMatcher(filter)(topic);
}

/** A topic filter a user typed: what is wrong with it as a message key (with the filter), or undefined. */
export function validateTopicFilter(filter: string): Problem | undefined {
  if (!filter) return { key: 'filterEmpty' };
  const shown = filter.slice(0, 200);
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i];
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return { key: 'filterHash', vars: { filter: shown } };
    if (level.includes('+') && level !== '+') return { key: 'filterPlus', vars: { filter: shown } };
  }
  return undefined;
}

/** Why a topic cannot be published to: MQTT 4.7 (no wildcards, no NUL, 1 to 65,535 bytes) and, unless allowed, `$`. */
export type TopicProblem = 'topicEmpty' | 'topicWildcard' | 'topicNul' | 'topicLong' | 'topicSystem';

export const MAX_TOPIC_BYTES = 65_535;

export function publishTopicProblem(topic: unknown, allowSystem = true): TopicProblem | undefined {
  if (typeof topic !== 'string' || topic === '') return 'topicEmpty';
  // a UTF-8 character is at most 3 bytes per UTF-16 unit: only long topics need counting
  if (topic.length * 3 > MAX_TOPIC_BYTES && utf8Bytes(topic) > MAX_TOPIC_BYTES) return 'topicLong';
  if (topic.includes('#') || topic.includes('+')) return 'topicWildcard';
  if (topic.includes('\u0000')) return 'topicNul';
  if (!allowSystem && topic.startsWith('$')) return 'topicSystem';
  return undefined;
}

/** A publish refused before it reached the wire: retrying it can never succeed. */
export class TopicError extends Error {
  constructor(readonly problem: TopicProblem) {
    super(`the topic cannot be published to (${problem})`);
  }
}


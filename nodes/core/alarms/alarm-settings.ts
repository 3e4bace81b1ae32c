/**
 * edge-alarm's settings from the editor's fields (strings and table rows): the alarms, the flood and chatter
 * limits, and every problem named by a message key, reported at deploy in the user's words.
 */
import { AlarmConfig, SetOptions, validateAlarms } from './alarm-set';
import { RuleKind } from './alarm-rules';
import { Problem, toInt, toNumber } from '../shared/fields';

export interface AlarmDefinition {
  alarms?: Array<Record<string, unknown>>;
  floodMax?: string;
  floodMinutes?: string;
  chatterMax?: string;
  chatterSeconds?: string;
  persist?: boolean;
}

export interface AlarmSettings {
  alarms: AlarmConfig[];
  options: SetOptions;
  /** states kept on disk across restarts */
  persist: boolean;
  problems: Problem[];
}

/** Editor rows carry strings; the alarm set wants numbers. */
function configsFrom(rows: Array<Record<string, unknown>> | undefined): AlarmConfig[] {
  return (Array.isArray(rows) ? rows : []).map((r) => ({
    id: String(r.id ?? '').trim(),
    path: String(r.path ?? 'payload').trim() || 'payload',
    kind: String(r.kind ?? 'high') as RuleKind,
    // blank is no limit (a validation error for limit rules), never a silent 0
    limit: toNumber(r.limit, NaN),
    setpoint: r.setpoint === undefined || r.setpoint === '' ? undefined : toNumber(r.setpoint, NaN),
    deadband: toNumber(r.deadband, 0),
    onDelayMs: toNumber(r.onDelay, 0) * 1000,
    offDelayMs: toNumber(r.offDelay, 0) * 1000,
    priority: toInt(r.priority, 500),
    message: String(r.message ?? '') || '{{id}}: {{value}}',
    latching: r.latching === true || r.latching === 'true',
    unit: r.unit ? String(r.unit) : undefined,
    suppressWhen: r.suppressWhen ? String(r.suppressWhen).trim() : undefined,
  }));
}

export function alarmSettings(def: AlarmDefinition): AlarmSettings {
  const alarms = configsFrom(def.alarms);
  const flood = { max: toInt(def.floodMax, 10), windowMs: toNumber(def.floodMinutes, 10) * 60_000 };
  const chatter = { max: toInt(def.chatterMax, 5), windowMs: toNumber(def.chatterSeconds, 60) * 1000 };
  const problems = validateAlarms(alarms);
  // a negative or blank-looking window would switch the protection off without a word: refused instead
  if (!(flood.max >= 1)) problems.push({ key: 'floodMax' });
  if (!(flood.windowMs > 0)) problems.push({ key: 'floodMinutes' });
  if (!(chatter.max >= 1)) problems.push({ key: 'chatterMax' });
  if (!(chatter.windowMs > 0)) problems.push({ key: 'chatterSeconds' });
  return { alarms, options: { flood, chatter }, persist: def.persist !== false, problems };
}

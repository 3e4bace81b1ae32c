/**
 * The alarms of one edge-alarm node: each alarm's rule, lifecycle, chatter detection, and the node's flood
 * detection, fed with measurements, operator commands and the clock. Every change of state is an event for the
 * audit trail; a snapshot of the whole set restores it after a restart.
 */
import { AlarmEvent, AlarmFacts, AlarmState, NORMAL_FACTS, apply, stateOf } from './alarm-state';
import { explainText } from '../monitoring/explain';
import { RULE_KINDS, RuleEvaluator, RuleOptions, Severity, formatMessage, severityOf, validateRule } from './alarm-rules';
import { ChatterDetector, FloodDetector } from './alarm-flood';
import { getPath, pathProblem } from '../shared/message';
import type { Problem } from '../shared/fields';
import { quote } from '../shared/errors';
import { soleNumber } from '../shared/values';

export interface AlarmConfig extends RuleOptions {
  id: string;
  /** where the value is in the message, e.g. payload.temperature */
  path: string;
  /** 1..1000 */
  priority: number;
  /** text with {{id}}, {{value}}, {{limit}}, {{setpoint}}, {{unit}} */
  message: string;
  latching: boolean;
  unit?: string;
  /**
   * suppression by design: a property path whose truthy value suppresses the alarm, e.g. `payload.stopped`;
   * with a leading "!" its falsy value does, e.g. `!payload.running`
   */
  suppressWhen?: string;
}

export interface SetOptions {
  flood: { max: number; windowMs: number };
  chatter: { max: number; windowMs: number };
}

/** The longest shelf an operator may ask for: a shelf always expires. */
export const MAX_SHELF_S = 7 * 24 * 3600;

export const COMMANDS = ['ack', 'shelve', 'unshelve', 'reset', 'suppress', 'unsuppress', 'enable', 'disable', 'comment', 'summary'] as const;

/** How many of the latest events the summary carries (the operator's audit trail; the full one is output 1). */
export const TRAIL_LENGTH = 100;
export type CommandName = (typeof COMMANDS)[number];

export interface Command {
  command: CommandName;
  /** one alarm, or all of them when absent or "all" */
  alarmId?: string;
  /** shelve: seconds */
  duration?: number;
  who?: string;
  comment?: string;
}

/**
 * A command message as the alarm set takes it, or why it cannot be one: a missing alarmId means every alarm,
 * any other non-string is refused (a stray number must never act on all of them); a duration is a number of
 * seconds or a numeric string, nothing else ([60], true and 10n are not durations).
 */
export function commandFrom(m: Record<string, unknown>): { command?: Command; error?: string } {
  const { alarmId, duration } = m;
  if (alarmId !== undefined && typeof alarmId !== 'string') {
    return { error: `msg.alarmId must be an alarm's id (text), or absent for every alarm; got ${quote(alarmId)}` };
  }
  let seconds: number | undefined;
  if (duration !== undefined) {
    seconds = typeof duration === 'number' ? duration : typeof duration === 'string' && duration.trim() !== '' ? Number(duration) : NaN;
    if (!Number.isFinite(seconds)) return { error: `msg.duration must be a number of seconds; got ${quote(duration)}` };
  }
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 1000) : undefined);
  return { command: { command: m.command as CommandName, alarmId, duration: seconds, who: text(m.who), comment: text(m.comment) } };
}

/** One event of the audit trail (and the alarm message operators see). */
export interface AlarmRecord {
  /** comment: an operator's note on an alarm, its state unchanged */
  type: 'transition' | 'chatter' | 'flood' | 'comment';
  alarmId: string;
  state: AlarmState;
  previous: AlarmState;
  severity: Severity;
  priority: number;
  active: boolean;
  acked: boolean;
  value: unknown;
  message: string;
  ts: number;
  cause: string;
  who?: string;
  comment?: string;
  shelvedUntil?: number;
  /** flood: how many alarm messages were held back */
  heldBack?: number;
}

interface Alarm {
  config: AlarmConfig;
  rule: RuleEvaluator;
  facts: AlarmFacts;
  chatter: ChatterDetector;
  lastValue: unknown;
  /** why the model flagged the last sample, in words (an edge-infer result's msg.inference.explain) */
  lastExplain?: string;
  since: number;
  /** the last operator command on this alarm that said who or why (the summary shows it) */
  note?: OperatorNote;
}

/** Who last acted on an alarm, with what and why. */
export interface OperatorNote {
  command: string;
  who?: string;
  comment?: string;
  ts: number;
}

export interface Snapshot {
  version: 1;
  alarms: Record<string, { facts: AlarmFacts; rule: ReturnType<RuleEvaluator['snapshot']>; lastValue: unknown; since: number; note?: OperatorNote }>;
  /** the latest events, newest first */
  trail?: AlarmRecord[];
}

/** An event read back from a state file: kept only with the fields every event has. */
function trailRecord(v: unknown): v is AlarmRecord {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return typeof r.alarmId === 'string' && typeof r.ts === 'number' && typeof r.state === 'string' && typeof r.type === 'string';
}

/** An operator note read back from a state file: only its known fields, as text, bounded. */
function noteFrom(v: unknown): OperatorNote | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const n = v as Record<string, unknown>;
  if (typeof n.command !== 'string' || typeof n.ts !== 'number') return undefined;
  const text = (x: unknown) => (typeof x === 'string' ? x.slice(0, 1000) : undefined);
  const note: OperatorNote = { command: n.command.slice(0, 40), ts: n.ts };
  if (text(n.who)) note.who = text(n.who);
  if (text(n.comment)) note.comment = text(n.comment);
  return note;
}

/** Problems with a list of alarms, as message keys: each names its alarm (`inAlarm`, by number when it has no id) and what is wrong with it. */
export function validateAlarms(configs: Partial<AlarmConfig>[]): Problem[] {
  if (!Array.isArray(configs) || configs.length === 0) return [{ key: 'noAlarms' }];
  const problems: Problem[] = [];
  const ids = new Set<string>();
  configs.forEach((c, i) => {
    const inAlarm = (problem: Problem) => problems.push(c.id ? { key: 'inAlarm', vars: { n: i + 1, id: c.id, problem } } : { key: 'inAlarmN', vars: { n: i + 1, problem } });
    if (!c.id) inAlarm({ key: 'idRequired' });
    else if (ids.has(c.id)) inAlarm({ key: 'idTwice' });
    else ids.add(c.id);
    const pathWrong = pathProblem(c.path ?? '');
    if (pathWrong) inAlarm({ key: 'path', vars: { problem: pathWrong } });
    const suppressWrong = c.suppressWhen ? pathProblem(c.suppressWhen.replace(/^!/, '')) : undefined;
    if (suppressWrong) inAlarm({ key: 'suppressPath', vars: { problem: suppressWrong } });
    if (!(Number.isInteger(c.priority) && c.priority! >= 1 && c.priority! <= 1000)) inAlarm({ key: 'priority' });
    for (const key of validateRule(c as RuleOptions)) inAlarm({ key, vars: { kinds: RULE_KINDS.join(', ') } });
  });
  return problems;
}

/** An alarm's message from its template: {{id}}, {{value}}, {{limit}}, {{setpoint}}, {{unit}} and {{explain}}. */
function messageOf(a: Alarm): string {
  const c = a.config;
  return formatMessage(c.message, { id: c.id, value: a.lastValue, limit: c.limit, setpoint: c.setpoint, unit: c.unit ?? '', explain: a.lastExplain });
}

export class AlarmSet {
  private readonly alarms = new Map<string, Alarm>();
  private readonly flood: FloodDetector;
  /** facts changed since the last takeChanged(): the state on disk is behind */
  private changed = false;
  /** the latest events, newest first */
  private trail: AlarmRecord[] = [];

  constructor(configs: AlarmConfig[], readonly options: SetOptions, now: number) {
    for (const config of configs) {
      this.alarms.set(config.id, {
        config,
        rule: new RuleEvaluator(config, now),
        facts: NORMAL_FACTS,
        chatter: new ChatterDetector(options.chatter.max, options.chatter.windowMs),
        lastValue: undefined,
        since: now,
      });
    }
    this.flood = new FloodDetector(options.flood.max, options.flood.windowMs);
  }

  get ids(): string[] {
    return [...this.alarms.keys()];
  }

  stateOf(id: string): AlarmState | undefined {
    const a = this.alarms.get(id);
    return a && stateOf(a.facts);
  }

  private record(a: Alarm, previous: AlarmState, cause: string, now: number, extra: Partial<AlarmRecord> = {}): AlarmRecord {
    const c = a.config;
    const r: AlarmRecord = {
      type: 'transition',
      alarmId: c.id,
      state: stateOf(a.facts),
      previous,
      severity: severityOf(c.priority),
      priority: c.priority,
      active: a.facts.active,
      acked: a.facts.acked,
      value: a.lastValue,
      message: messageOf(a),
      ts: now,
      cause,
      ...extra,
    };
    if (a.facts.shelvedUntil !== undefined) r.shelvedUntil = a.facts.shelvedUntil;
    return r;
  }

  /** Applies one lifecycle event; returns the records it makes (held back while chattering or flooding). */
  private step(a: Alarm, event: AlarmEvent, cause: string, now: number, who?: string, comment?: string): { records: AlarmRecord[]; refused?: string } {
    const previous = stateOf(a.facts);
    const outcome = apply(a.facts, event, now, a.config.latching);
    if (!outcome.applied) return { records: [], refused: outcome.refused };
    a.facts = outcome.facts;
    this.changed = true;
    const state = stateOf(a.facts);
    if (state !== previous) a.since = now;
    const records: AlarmRecord[] = [];
    const processEvent = event.type === 'activate' || event.type === 'clear';
    if (processEvent && a.chatter.transition(now) === 'start') {
      records.push(this.record(a, previous, 'chattering: transitions held back until it settles', now, { type: 'chatter' }));
      return { records };
    }
    if (processEvent && a.chatter.isChattering) return { records: [] };
    if (event.type === 'activate' && a.facts.inService && state === 'unacknowledged') {
      const flood = this.flood.activation(now);
      if (flood.flood === 'start') {
        records.push(this.record(a, previous, `flood: more than ${this.options.flood.max} alarms in ${this.options.flood.windowMs / 60_000} min`, now, { type: 'flood', heldBack: 1 }));
      }
      if (!flood.send) return { records };
    }
    if (state === previous && !who) return { records };
    records.push(this.record(a, previous, cause, now, who !== undefined || comment !== undefined ? { who, comment } : {}));
    return { records };
  }

  /**
   * A measurement: every alarm whose value is in the message is evaluated. Values an alarm cannot judge (text for
   * a limit) are reported into `problems`.
   */
  ingest(msg: Record<string, unknown>, now: number, problems?: string[]): AlarmRecord[] {
    const records: AlarmRecord[] = [];
    const ts = typeof msg.ts === 'number' && Number.isFinite(msg.ts) ? msg.ts : now;
    for (const a of this.alarms.values()) {
      // suppression starts before this message is judged and ends after it, so what the message says while the
      // machine stops or restarts is never annunciated
      const design = this.designSuppression(a, msg);
      if (design === true) records.push(...this.setSuppressed(a, true, now));
      records.push(...this.evaluate(a, msg, ts, now, problems));
      if (design === false) records.push(...this.setSuppressed(a, false, now));
    }
    return this.remember(records);
  }

  /** Keeps the latest events for the summary's trail. */
  private remember(records: AlarmRecord[]): AlarmRecord[] {
    if (records.length) this.trail = [...records].reverse().concat(this.trail).slice(0, TRAIL_LENGTH);
    return records;
  }

  private evaluate(a: Alarm, msg: Record<string, unknown>, ts: number, now: number, problems?: string[]): AlarmRecord[] {
    // a quality rule judges every message; the others only those that carry their value
    const found = a.config.kind === 'bad-quality' ? getPath(msg, a.config.path) ?? msg.payload : getPath(msg, a.config.path);
    if (found === undefined && a.config.kind !== 'bad-quality') return [];
    const numeric = a.config.kind !== 'flag' && a.config.kind !== 'bad-quality' && a.config.kind !== 'stale';
    // a number, edge-aggregate's statistics (their mean), or the one value of an object of named values
    // a flag rule on an edge-infer result reads its anomaly flag: that is the value the alarm shows
    const flag = a.config.kind === 'flag' && found !== null && typeof found === 'object' && 'anomaly' in found ? (found as { anomaly: unknown }).anomaly : found;
    const reading: { value?: unknown; fields?: string[] } = numeric ? soleNumber(found) : { value: flag };
    const value = reading.value;
    if (numeric && value === undefined) {
      problems?.push(reading.fields
        ? `alarm "${a.config.id}": ${a.config.path} holds several values (${reading.fields.slice(0, 5).join(', ')}): set its path to one, e.g. ${a.config.path}.${reading.fields[0]}`
        : `alarm "${a.config.id}": value ${quote(found)} at ${a.config.path} is not a number`);
      return [];
    }
    // kept in the state file and in every event: JSON-safe and bounded, whatever the message carried
    a.lastValue = typeof value === 'number' || typeof value === 'boolean' || value === undefined ? value
      : typeof value === 'string' ? value.slice(0, 200) : quote(value);
    a.lastExplain = explainText((msg.inference as { explain?: unknown } | undefined)?.explain) || undefined;
    const setpoint = typeof msg.setpoint === 'number' ? msg.setpoint : undefined;
    const change = a.rule.sample({ value, quality: msg.quality as 'good' | 'uncertain' | 'bad' | undefined, ts, setpoint }, now);
    if (!change) return [];
    return this.step(a, { type: change }, change === 'activate' ? 'condition' : 'return to normal', now).records;
  }

  /** The alarm's suppression condition in this message: true, false, or undefined when the message lacks it. */
  private designSuppression(a: Alarm, msg: Record<string, unknown>): boolean | undefined {
    const when = a.config.suppressWhen;
    if (!when) return undefined;
    const negate = when.startsWith('!');
    const raw = getPath(msg, negate ? when.slice(1) : when);
    if (raw === undefined) return undefined;
    return negate ? !raw : Boolean(raw);
  }

  private setSuppressed(a: Alarm, suppress: boolean, now: number): AlarmRecord[] {
    if (suppress === a.facts.suppressed) return [];
    return this.step(a, { type: suppress ? 'suppress' : 'unsuppress' }, suppress ? 'suppressed by design' : 'suppression ended', now).records;
  }

  /** The clock: delays, stale data, shelf expiry, the end of chatter and of a flood. */
  tick(now: number): AlarmRecord[] {
    const records: AlarmRecord[] = [];
    for (const a of this.alarms.values()) {
      const change = a.rule.tick(now);
      if (change) records.push(...this.step(a, { type: change }, change === 'activate' ? 'condition' : 'return to normal', now).records);
      records.push(...this.step(a, { type: 'tick' }, 'shelf expired', now).records);
      if (a.chatter.check(now) === 'stop') {
        records.push(this.record(a, stateOf(a.facts), 'chatter ended', now, { type: 'chatter' }));
      }
    }
    const flood = this.flood.check(now);
    if (flood) {
      records.push({
        type: 'flood', alarmId: '', state: 'normal', previous: 'normal', severity: 'high', priority: 0, active: false, acked: true,
        value: flood.heldBack, message: `alarm flood ended: ${flood.heldBack} alarm(s) were held back`, ts: now, cause: 'flood ended',
        heldBack: flood.heldBack,
      });
    }
    return this.remember(records);
  }

  /** An operator command; an unknown alarm or a command that does not apply is an error in words. */
  command(cmd: Command, now: number): { records: AlarmRecord[]; error?: string } {
    if (!COMMANDS.includes(cmd.command)) {
      return { records: [], error: `unknown command ${quote(cmd.command)} (use ${COMMANDS.join(', ')})` };
    }
    const targets = !cmd.alarmId || cmd.alarmId === 'all' ? [...this.alarms.values()] : [this.alarms.get(cmd.alarmId)].filter(Boolean) as Alarm[];
    if (targets.length === 0) return { records: [], error: `no alarm ${quote(cmd.alarmId)} in this node (it has ${this.ids.join(', ')})` };
    if (cmd.command === 'comment') return this.comment(targets, cmd, now);
    let event: AlarmEvent;
    if (cmd.command === 'shelve') {
      if (!(typeof cmd.duration === 'number' && cmd.duration > 0 && cmd.duration <= MAX_SHELF_S)) {
        return { records: [], error: `shelve needs msg.duration in seconds, at most ${MAX_SHELF_S} (a shelf always expires)` };
      }
      event = { type: 'shelve', until: now + cmd.duration * 1000 };
    } else {
      event = { type: cmd.command as Exclude<CommandName, 'shelve' | 'summary' | 'comment'> };
    }
    const records: AlarmRecord[] = [];
    const refusals: string[] = [];
    for (const a of targets) {
      const result = this.step(a, event, `command ${cmd.command}`, now, cmd.who ?? '', cmd.comment);
      if (!result.refused && (cmd.who || cmd.comment)) {
        a.note = { command: cmd.command, ts: now, ...(cmd.who ? { who: cmd.who } : {}), ...(cmd.comment ? { comment: cmd.comment } : {}) };
        this.changed = true;
      }
      records.push(...result.records);
      if (result.refused && targets.length === 1) refusals.push(`${a.config.id}: ${result.refused}`);
    }
    this.remember(records);
    return refusals.length ? { records, error: refusals.join('; ') } : { records };
  }

  /** An operator's note on one alarm (a shift log entry): in the trail and on the alarm's row, its state unchanged. */
  private comment(targets: Alarm[], cmd: Command, now: number): { records: AlarmRecord[]; error?: string } {
    if (targets.length !== 1) return { records: [], error: 'comment needs msg.alarmId: the alarm it is about' };
    if (!cmd.comment?.trim()) return { records: [], error: 'comment needs msg.comment: the text of the note' };
    const a = targets[0];
    a.note = { command: 'comment', ts: now, comment: cmd.comment, ...(cmd.who ? { who: cmd.who } : {}) };
    this.changed = true;
    const state = stateOf(a.facts);
    return { records: this.remember([this.record(a, state, 'operator comment', now, { type: 'comment', who: cmd.who ?? '', comment: cmd.comment })]) };
  }

  /** What an operator screen shows: every alarm not in normal, and counts by state and by severity. */
  summary(now: number): Record<string, unknown> {
    const counts: Record<string, number> = { active: 0, unacknowledged: 0, shelved: 0, suppressed: 0, outOfService: 0 };
    const bySeverity: Record<Severity, number> = { low: 0, medium: 0, high: 0, critical: 0 };
    const alarms: Array<Record<string, unknown>> = [];
    for (const a of this.alarms.values()) {
      const state = stateOf(a.facts);
      const hidden = state === 'shelved' || state === 'suppressed' || state === 'out-of-service';
      if (a.facts.active && !hidden) counts.active++;
      if (!a.facts.acked && !hidden) counts.unacknowledged++;
      if (state === 'shelved') counts.shelved++;
      if (state === 'suppressed') counts.suppressed++;
      if (state === 'out-of-service') counts.outOfService++;
      if (state === 'normal') continue;
      const severity = severityOf(a.config.priority);
      if (a.facts.active) bySeverity[severity]++;
      const c = a.config;
      alarms.push({
        alarmId: c.id, state, severity, priority: c.priority, value: a.lastValue, unit: c.unit ?? '',
        message: messageOf(a),
        since: a.since, shelvedUntil: a.facts.shelvedUntil, active: a.facts.active, acked: a.facts.acked, note: a.note,
      });
    }
    alarms.sort((x, y) => (y.priority as number) - (x.priority as number));
    // every alarm, normal ones too, so a screen can take one out of service or shelve it before it sounds
    const defined = [...this.alarms.values()].map((a) => ({
      alarmId: a.config.id, state: stateOf(a.facts), priority: a.config.priority, kind: a.config.kind,
      ...(Number.isFinite(a.config.limit) ? { limit: a.config.limit } : {}), unit: a.config.unit ?? '',
    }));
    return { ts: now, counts, bySeverity, flooding: this.flood.isFlooding, alarms, defined, trail: this.trail };
  }

  snapshot(): Snapshot {
    const alarms: Snapshot['alarms'] = {};
    for (const [id, a] of this.alarms) alarms[id] = { facts: a.facts, rule: a.rule.snapshot(), lastValue: a.lastValue, since: a.since, ...(a.note ? { note: a.note } : {}) };
    return { version: 1, alarms, trail: this.trail };
  }

  /** Whether facts changed since the last call (the caller saves then). */
  takeChanged(): boolean {
    const changed = this.changed;
    this.changed = false;
    return changed;
  }

  /**
   * Restores alarms that still exist by id; new ones start normal, removed ones are forgotten, and entries that do
   * not have the shape of a saved alarm are skipped (returned by id), never a failure.
   */
  restore(s: Snapshot | undefined, now: number): { restored: number; skipped: string[] } {
    const result = { restored: 0, skipped: [] as string[] };
    if (!s || s.version !== 1 || !s.alarms || typeof s.alarms !== 'object') return result;
    if (Array.isArray(s.trail)) this.trail = s.trail.filter(trailRecord).slice(0, TRAIL_LENGTH);
    const bool = (v: unknown, fallback: boolean) => (typeof v === 'boolean' ? v : fallback);
    for (const [id, saved] of Object.entries(s.alarms)) {
      const a = this.alarms.get(id);
      if (!a) continue;
      const f = saved?.facts as Partial<AlarmFacts> | undefined;
      if (!f || typeof f !== 'object' || !saved.rule || typeof saved.rule !== 'object') {
        result.skipped.push(id);
        continue;
      }
      a.facts = {
        inService: bool(f.inService, true), active: bool(f.active, false), acked: bool(f.acked, true), latched: bool(f.latched, false),
        shelvedUntil: typeof f.shelvedUntil === 'number' && Number.isFinite(f.shelvedUntil) ? f.shelvedUntil : undefined,
        suppressed: bool(f.suppressed, false),
      };
      a.rule.restore(saved.rule, now);
      a.lastValue = saved.lastValue;
      a.since = typeof saved.since === 'number' ? saved.since : now;
      a.note = noteFrom(saved.note);
      result.restored++;
    }
    return result;
  }
}

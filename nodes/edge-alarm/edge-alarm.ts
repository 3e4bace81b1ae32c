/**
 * edge-alarm: named alarms on values of incoming messages, with the ISA-18.2 lifecycle (acknowledge, latch, shelve,
 * suppress, out of service), chatter and flood handling, and state kept on disk across restarts.
 * Output 1: alarm events (the audit trail); output 2: the summary (on change and on request) and the reply to each
 * command.
 */
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { guarded, nodeKit } from '../kit/node-kit';
import { AlarmConfig, AlarmRecord, AlarmSet, commandFrom, validateAlarms } from '../core/alarms/alarm-set';
import { RuleKind } from '../core/alarms/alarm-rules';
import { loadJson, saveJson, writableDirProblem } from '../core/shared/json-store';
import { StateSettings, stateDir } from '../core/shared/state-dir';
import { toInt, toNumber } from '../core/shared/fields';
import { errorBadge, shortText, StatusBadge } from '../core/shared/status';
import { errorText } from '../core/shared/errors';

interface AlarmDef extends NodeDef {
  alarms: Array<Record<string, unknown>>;
  floodMax: string;
  floodMinutes: string;
  chatterMax: string;
  chatterSeconds: string;
  persist: boolean;
}

type SendFn = (msg: Array<NodeMessage | NodeMessage[] | null>) => void;
type DoneFn = (err?: Error) => void;

/** Editor rows carry strings; the alarm set wants numbers. */
function configsFrom(rows: Array<Record<string, unknown>>): AlarmConfig[] {
  return (rows ?? []).map((r) => ({
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

export = function register(RED: NodeAPI): void {
  function EdgeAlarm(this: Node, def: AlarmDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-alarm');
    const { t } = kit;
    let set: AlarmSet | undefined;
    try {
      const configs = configsFrom(def.alarms);
      const problems = validateAlarms(configs);
      if (problems.length) throw new Error(problems.join('; '));
      const positive = (v: number, fallback: number) => (Number.isFinite(v) && v > 0 ? v : fallback);
      set = new AlarmSet(configs, {
        flood: { max: positive(toInt(def.floodMax, 10), 10), windowMs: positive(toNumber(def.floodMinutes, 10), 10) * 60_000 },
        chatter: { max: positive(toInt(def.chatterMax, 5), 5), windowMs: positive(toNumber(def.chatterSeconds, 60), 60) * 1000 },
      }, Date.now());
    } catch (err) {
      node.error(t('errors.config', { problems: errorText(err) }));
      node.status(errorBadge(t('status.config')));
    }

    // state on disk, next to the flows, so an unacknowledged alarm survives a deploy, a restart and a power cut
    const stateFile = def.persist === false ? undefined
      : path.join(stateDir(RED.settings as unknown as StateSettings, 'alarms'), `${node.id.replace(/[^\w.-]/g, '_')}.json`);
    const unwritable = set && stateFile ? writableDirProblem(path.dirname(stateFile)) : undefined;
    if (unwritable) {
      // the alarms still work; what they would not survive is a restart, and that is said now, not at the first save
      node.error(t('errors.unwritable', { dir: path.dirname(stateFile!), error: unwritable }));
      node.status(errorBadge(t('status.unwritable')));
    }
    if (set && stateFile) {
      const loaded = loadJson<Parameters<AlarmSet['restore']>[0]>(stateFile);
      if (loaded.movedAside) node.warn(t('errors.stateDamaged', { file: loaded.movedAside, error: loaded.error ?? '' }));
      else if (loaded.error) node.warn(t('errors.stateUnreadable', { error: loaded.error }));
      const { skipped } = set.restore(loaded.value, Date.now());
      if (skipped.length) node.warn(t('errors.stateSkipped', { alarms: skipped.join(', ') }));
    }

    let unsaved = false;
    function save(): void {
      unsaved = false;
      if (!set || !stateFile) return;
      try {
        saveJson(stateFile, set.snapshot());
      } catch (err) {
        node.error(t('errors.stateWrite', { error: errorText(err) }));
      }
    }

    function showStatus(summary: Record<string, unknown>): void {
      const { counts } = summary as { counts: Record<string, number> };
      let badge: StatusBadge;
      if (counts.unacknowledged > 0) badge = { fill: 'red', shape: 'dot', text: t('status.unacked', counts) };
      else if (counts.active > 0) badge = { fill: 'yellow', shape: 'dot', text: t('status.active', counts) };
      else badge = { fill: 'green', shape: 'dot', text: t('status.normal') };
      badge.text = shortText(badge.text!);
      node.status(badge);
    }

    /**
     * Alarm events out of output 1; the state to disk and the summary out of output 2 when anything changed (also
     * facts that show no event, such as an activation while shelved).
     */
    function publish(records: AlarmRecord[], send: SendFn, forceSummary = false): void {
      if (!set) return;
      if (records.length) {
        const events = records.map((r) => ({ topic: r.type === 'flood' ? 'alarm/flood' : `alarm/${r.alarmId}`, payload: r, ts: r.ts } as NodeMessage));
        send([events, null]);
      }
      const changed = set.takeChanged();
      // a visible transition is on disk at once; changes no one sees yet (an alarm chattering, flooding or
      // shelved) wait for the next tick, so a chattering alarm cannot turn into a stream of disk flushes
      if (records.length) save();
      else if (changed) unsaved = true;
      if (changed || records.length || forceSummary) {
        const summary = set.summary(Date.now());
        send([null, { topic: 'alarm/summary', payload: summary } as NodeMessage]);
        showStatus(summary);
      }
    }

    if (set) showStatus(set.summary(Date.now()));
    const ticker = setInterval(() => {
      if (!set) return;
      publish(set.tick(Date.now()), (m) => node.send(m));
      if (unsaved) save();
    }, 1000);

    node.on('input', guarded(kit, (msg: NodeMessageInFlow, send: SendFn, done: DoneFn) => {
      if (!set) return done(new Error(t('errors.notConfigured')));
      const m = msg as unknown as Record<string, unknown>;
      const now = Date.now();
      if (typeof m.command === 'string') {
        if (m.command === 'summary') {
          // the reply keeps the request's properties (an HTTP request's res, a correlation id)
          send([null, { ...m, topic: 'alarm/summary', payload: set.summary(now) } as NodeMessage]);
          return done();
        }
        const parsed = commandFrom(m);
        const result = parsed.command ? set.command(parsed.command, now) : { records: [], error: parsed.error };
        publish(result.records, send);
        // the reply keeps the request's properties, so an HTTP request (or any caller) learns the outcome
        const reply = result.error ? { ok: false, error: result.error } : { ok: true, events: result.records.length };
        send([null, { ...m, topic: 'alarm/command', payload: reply } as NodeMessage]);
        return done(result.error ? new Error(t('errors.command', { error: result.error })) : undefined);
      }
      const problems: string[] = [];
      publish(set.ingest(m, now, problems), send);
      if (problems.length) {
        node.status(errorBadge(t('status.badInput')));
        return done(new Error(problems.join('; ')));
      }
      done();
    }));

    node.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(ticker);
      save();
      done();
    });
  }

  RED.nodes.registerType('edge-alarm', EdgeAlarm);
};

/**
 * edge-alarm: named alarms on values of incoming messages, with the ISA-18.2 lifecycle (acknowledge, latch, shelve,
 * suppress, out of service), chatter and flood handling, and state kept on disk across restarts.
 * Output 1: alarm events (the audit trail); output 2: the summary (on change and on request) and the reply to each
 * command.
 */
import path from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { DoneFn, guarded, nodeKit, SendFn } from '../kit/node-kit';
import { AlarmRecord, AlarmSet, commandFrom } from '../core/alarms/alarm-set';
import { AlarmDefinition, alarmSettings } from '../core/alarms/alarm-settings';
import { loadJson, saveJson, writableDirProblem } from '../core/shared/json-store';
import { StateSettings, stateDir } from '../core/shared/state-dir';
import { errorBadge, shortText, StatusBadge } from '../core/shared/status';
import { errorText, KeyedError } from '../core/shared/errors';
import { valuePaths } from '../core/shared/values';

export = function register(RED: NodeAPI): void {
  /** each deployed alarm node's last data message: the editor offers the value paths it holds for new rules */
  const lastSeen = new Map<string, Record<string, unknown>>();

  function onPathsRequest(req: { params: { id: string } }, res: { json(body: unknown): void }): void {
    res.json(valuePaths(lastSeen.get(req.params.id), ['payload', 'inference']));
  }
  RED.httpAdmin.get('/edge-alarm/:id/paths', RED.auth.needsPermission('edge-alarm.read'), onPathsRequest);

  function EdgeAlarm(this: Node, def: NodeDef & AlarmDefinition): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const kit = nodeKit(RED, node, 'edge-alarm');
    const { t, status } = kit;
    const settings = alarmSettings(def);
    const set = settings.problems.length ? undefined : new AlarmSet(settings.alarms, settings.options, Date.now());
    if (!set) kit.configError(kit.words(settings.problems));

    // state on disk, next to the flows, so an unacknowledged alarm survives a deploy, a restart and a power cut
    const dir = stateDir(RED.settings as unknown as StateSettings, 'alarms');
    const stateFile = set && settings.persist ? path.join(dir, `${node.id.replace(/[^\w.-]/g, '_')}.json`) : undefined;
    const unwritable = stateFile ? writableDirProblem(dir) : undefined;
    if (unwritable) {
      // the alarms still work; what they would not survive is a restart, and that is said now, not at the first save
      node.error(t('errors.unwritable', { dir, error: unwritable }));
      status.now(errorBadge(t('status.unwritable')));
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
      status.now({ ...badge, text: shortText(badge.text!) });
    }

    /**
     * Alarm events out of output 1; the state to disk and the summary out of output 2 when anything changed (also
     * facts that show no event, such as an activation while shelved).
     */
    function publish(records: AlarmRecord[], send: SendFn): void {
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
      if (changed || records.length) {
        const summary = set.summary(Date.now());
        send([null, { topic: 'alarm/summary', payload: summary } as NodeMessage]);
        showStatus(summary);
      }
    }

    function onTick(): void {
      if (!set) return;
      publish(set.tick(Date.now()), (m) => node.send(m));
      if (unsaved) save();
    }
    if (set && !unwritable) showStatus(set.summary(Date.now()));
    const ticker = set ? setInterval(onTick, 1000) : undefined;

    /** A command message: done, and a reply on output 2 that keeps the request's properties (an HTTP request's res). */
    function onCommand(alarms: AlarmSet, m: Record<string, unknown>, send: SendFn, done: DoneFn): void {
      const now = Date.now();
      if (m.command === 'summary') {
        send([null, { ...m, topic: 'alarm/summary', payload: alarms.summary(now) } as NodeMessage]);
        return done();
      }
      const parsed = commandFrom(m);
      const result = parsed.command ? alarms.command(parsed.command, now) : { records: [], error: parsed.error };
      publish(result.records, send);
      const reply = result.error ? { ok: false, error: result.error } : { ok: true, events: result.records.length };
      send([null, { ...m, topic: 'alarm/command', payload: reply } as NodeMessage]);
      done(result.error ? new Error(t('errors.command', { error: result.error })) : undefined);
    }

    function onInput(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void {
      if (!set) return kit.notConfigured(done);
      const m = msg as unknown as Record<string, unknown>;
      if (typeof m.command === 'string') return onCommand(set, m, send, done);
      lastSeen.set(node.id, m);
      const problems: string[] = [];
      publish(set.ingest(m, Date.now(), problems), send);
      if (problems.length) return kit.fail(done, new KeyedError('input', { problems: problems.join('; ') }), 'status.badInput');
      done();
    }

    function onClose(_removed: boolean, done: () => void): void {
      clearInterval(ticker);
      lastSeen.delete(node.id);
      save();
      status.stop();
      done();
    }

    node.on('input', guarded(kit, onInput));
    node.on('close', onClose);
  }

  RED.nodes.registerType('edge-alarm', EdgeAlarm);
};

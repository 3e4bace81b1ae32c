import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlarmSet, AlarmConfig, validateAlarms } from '../../../nodes/core/alarms/alarm-set';
import { loadJson, saveJson } from '../../../nodes/core/shared/json-store';

const temp: AlarmConfig = { id: 'TT-101 high', path: 'payload.temperature', kind: 'high', limit: 80, deadband: 2, onDelayMs: 0, offDelayMs: 0,
  priority: 700, message: '{{id}}: {{value}} {{unit}} above {{limit}}', latching: false, unit: '°C' };
const anomaly: AlarmConfig = { id: 'pump anomaly', path: 'payload', kind: 'flag', limit: 0, deadband: 0, onDelayMs: 0, offDelayMs: 0,
  priority: 900, message: 'anomaly on pump 7', latching: true };
const options = { flood: { max: 10, windowMs: 600_000 }, chatter: { max: 5, windowMs: 60_000 } };

describe('core: a set of alarms', () => {
  it('raises, acknowledges and clears, with an audit record for every transition', () => {
    const set = new AlarmSet([temp], options, 0);
    const [raised] = set.ingest({ payload: { temperature: 85 } }, 1000);
    assert.deepEqual(
      [raised.alarmId, raised.previous, raised.state, raised.severity, raised.message, raised.value, raised.cause],
      ['TT-101 high', 'normal', 'unacknowledged', 'high', 'TT-101 high: 85 °C above 80', 85, 'condition'],
    );
    assert.deepEqual(set.ingest({ payload: { temperature: 79 } }, 2000), [], 'within the deadband: still active');
    const { records: [acked] } = set.command({ command: 'ack', alarmId: 'TT-101 high', who: 'operator 1', comment: 'checking cooling' }, 3000);
    assert.deepEqual([acked.previous, acked.state, acked.who, acked.comment, acked.cause], ['unacknowledged', 'acknowledged', 'operator 1', 'checking cooling', 'command ack']);
    const [cleared] = set.ingest({ payload: { temperature: 70 } }, 4000);
    assert.deepEqual([cleared.previous, cleared.state], ['acknowledged', 'normal']);
  });

  it('{{explain}} in a message: why the model flagged the sample that raised it (edge-infer\'s msg.inference.explain)', () => {
    const set = new AlarmSet([{ ...anomaly, message: 'anomaly on pump 7: {{explain}}' }], options, 0);
    const explain = [{ feature: 'vibration.mean', value: 4.12, unit: 'sd' }, { feature: 'temperature.mean', value: -2.3, unit: 'sd' }];
    const [raised] = set.ingest({ payload: { anomaly: true, score: 9 }, inference: { explain } }, 1000);
    assert.equal(raised.message, 'anomaly on pump 7: vibration.mean +4.1 sd, temperature.mean −2.3 sd');
    const [cleared] = set.ingest({ payload: { anomaly: false, score: 1 }, inference: {} }, 2000);
    assert.equal(cleared.message, 'anomaly on pump 7:');
    // whatever a message carries there, the text stays bounded: three entries, names cut, no NaN
    const huge = Array.from({ length: 10_000 }, (_, i) => ({ feature: 'x'.repeat(1000), value: i ? i : NaN, unit: 'sd' }));
    const [again] = set.ingest({ payload: { anomaly: true }, inference: { explain: huge } }, 3000);
    assert.equal(again.message, `anomaly on pump 7: ${'x'.repeat(64)} +1.0 sd, ${'x'.repeat(64)} +2.0 sd`);
  });

  it('refuses unknown commands and alarms, and commands that do not apply, in words', () => {
    const set = new AlarmSet([temp], options, 0);
    assert.equal(set.command({ command: 'silence' as never }, 0).error, 'unknown command "silence" (use ack, shelve, unshelve, reset, suppress, unsuppress, enable, disable, comment, summary)');
    assert.equal(set.command({ command: 'ack', alarmId: 'nope' }, 0).error, 'no alarm "nope" in this node (it has TT-101 high)');
    assert.equal(set.command({ command: 'ack', alarmId: 'TT-101 high' }, 0).error, 'TT-101 high: the alarm is already acknowledged');
    assert.equal(set.command({ command: 'shelve', alarmId: 'TT-101 high' }, 0).error, 'shelve needs msg.duration in seconds, at most 604800 (a shelf always expires)');
    assert.match(set.command({ command: 'shelve', alarmId: 'TT-101 high', duration: 1e400 }, 0).error!, /at most 604800/);
  });

  it('shelves with an expiry and unshelves by itself, showing the alarm if still active', () => {
    const set = new AlarmSet([temp], options, 0);
    set.command({ command: 'shelve', alarmId: 'TT-101 high', duration: 60, who: 'op' }, 0);
    assert.deepEqual(set.ingest({ payload: { temperature: 90 } }, 1000), [], 'not annunciated while shelved');
    assert.deepEqual(set.tick(59_999), []);
    const [back] = set.tick(60_000);
    assert.deepEqual([back.previous, back.state, back.cause], ['shelved', 'unacknowledged', 'shelf expired']);
  });

  it('latches the anomaly alarm until reset', () => {
    const set = new AlarmSet([anomaly], options, 0);
    set.ingest({ payload: { anomaly: true, score: 9 } }, 0);
    set.command({ command: 'ack', alarmId: 'pump anomaly' }, 1);
    const [rtn] = set.ingest({ payload: { anomaly: false } }, 2);
    assert.equal(rtn.state, 'latched');
    const [reset] = set.command({ command: 'reset', alarmId: 'pump anomaly', who: 'op' }, 3).records;
    assert.equal(reset.state, 'normal');
  });

  it('reports chatter once instead of every transition', () => {
    const set = new AlarmSet([temp], options, 0);
    const records = [];
    for (let i = 0; i < 20; i++) records.push(...set.ingest({ payload: { temperature: i % 2 ? 70 : 90 } }, i * 1000));
    assert.deepEqual(records.map((r) => r.type), ['transition', 'transition', 'transition', 'transition', 'transition', 'chatter']);
    const end = set.tick(200_000);
    assert.deepEqual(end.map((r) => [r.type, r.cause]), [['chatter', 'chatter ended']]);
  });

  it('sends a flood summary instead of alarm 11 and after, and a closing count', () => {
    const configs = Array.from({ length: 30 }, (_, i) => ({ ...temp, id: `A${i}`, path: `payload.v${i}` }));
    const set = new AlarmSet(configs, options, 0);
    const records = configs.flatMap((c, i) => set.ingest({ payload: { [`v${i}`]: 99 } }, i * 1000));
    assert.equal(records.filter((r) => r.type === 'transition').length, 10);
    assert.deepEqual(records.filter((r) => r.type === 'flood').map((r) => r.heldBack), [1]);
    assert.equal(set.summary(30_000).flooding, true);
    const [end] = set.tick(29_000 + 600_000);
    assert.deepEqual([end.type, end.cause, end.heldBack], ['flood', 'flood ended', 20]);
  });

  it('summarises active, unacknowledged and shelved alarms by severity', () => {
    const set = new AlarmSet([temp, anomaly], options, 0);
    set.ingest({ payload: { temperature: 90, anomaly: true } }, 0);
    set.command({ command: 'ack', alarmId: 'TT-101 high' }, 1);
    const s = set.summary(2) as { counts: Record<string, number>; bySeverity: Record<string, number>; alarms: Array<{ alarmId: string; state: string }> };
    assert.deepEqual(s.counts, { active: 2, unacknowledged: 1, shelved: 0, suppressed: 0, outOfService: 0 });
    assert.deepEqual(s.bySeverity, { low: 0, medium: 0, high: 1, critical: 1 });
    assert.deepEqual(s.alarms.map((a) => [a.alarmId, a.state]), [['pump anomaly', 'unacknowledged'], ['TT-101 high', 'acknowledged']]);
  });

  it("gives an operator screen each alarm's message, value with unit, shelf expiry and who last acted and why, across a restart", () => {
    const set = new AlarmSet([temp, anomaly], options, 0);
    set.ingest({ payload: { temperature: 90, anomaly: true } }, 0);
    set.command({ command: 'ack', alarmId: 'TT-101 high', who: 'ana', comment: 'cooling checked' }, 1000);
    set.command({ command: 'shelve', alarmId: 'pump anomaly', duration: 600 }, 2000);
    const rows = (set.summary(3000) as { alarms: Array<Record<string, unknown>> }).alarms;
    assert.deepEqual(rows, [
      { alarmId: 'pump anomaly', state: 'shelved', severity: 'critical', priority: 900, value: true, unit: '', message: 'anomaly on pump 7',
        since: 2000, shelvedUntil: 602_000, active: true, acked: false, note: undefined },
      { alarmId: 'TT-101 high', state: 'acknowledged', severity: 'high', priority: 700, value: 90, unit: '°C', message: 'TT-101 high: 90 °C above 80',
        since: 1000, shelvedUntil: undefined, active: true, acked: true, note: { command: 'ack', ts: 1000, who: 'ana', comment: 'cooling checked' } },
    ]);
    const again = new AlarmSet([temp, anomaly], options, 4000);
    again.restore(JSON.parse(JSON.stringify(set.snapshot())), 4000);
    const restored = (again.summary(4000) as { alarms: Array<Record<string, unknown>> }).alarms;
    assert.deepEqual(restored[1].note, { command: 'ack', ts: 1000, who: 'ana', comment: 'cooling checked' });
    // a note that is not one is left out, never a failure
    const snap = JSON.parse(JSON.stringify(set.snapshot()));
    snap.alarms['TT-101 high'].note = { command: 5, who: { x: 1 } };
    const third = new AlarmSet([temp, anomaly], options, 4000);
    assert.deepEqual(third.restore(snap, 4000), { restored: 2, skipped: [] });
    assert.equal((third.summary(4000) as { alarms: Array<Record<string, unknown>> }).alarms[1].note, undefined);
  });

  it('keeps the latest events newest first (with comments), lists every alarm, and brings both back after a restart', () => {
    const set = new AlarmSet([temp, anomaly], options, 0);
    set.ingest({ payload: { temperature: 90 } }, 1000);
    set.command({ command: 'ack', alarmId: 'TT-101 high', who: 'ana' }, 2000);
    const { records: [note] } = set.command({ command: 'comment', alarmId: 'TT-101 high', who: 'ana', comment: 'fan replaced' }, 3000);
    assert.deepEqual([note.type, note.state, note.previous, note.who, note.comment, note.cause], ['comment', 'acknowledged', 'acknowledged', 'ana', 'fan replaced', 'operator comment']);
    assert.equal(set.stateOf('TT-101 high'), 'acknowledged', 'a comment changes no state');
    assert.match(set.command({ command: 'comment', alarmId: 'TT-101 high' }, 3500).error!, /needs msg\.comment/);
    assert.match(set.command({ command: 'comment', comment: 'to all' }, 3500).error!, /needs msg\.alarmId/);
    type Summary = { trail: Array<{ type: string; state: string; ts: number }>; defined: unknown[]; alarms: Array<{ note: unknown }> };
    const s = set.summary(4000) as Summary;
    assert.deepEqual(s.trail.map((r) => [r.ts, r.type, r.state]), [[3000, 'comment', 'acknowledged'], [2000, 'transition', 'acknowledged'], [1000, 'transition', 'unacknowledged']]);
    assert.deepEqual(s.alarms[0].note, { command: 'comment', ts: 3000, who: 'ana', comment: 'fan replaced' });
    assert.deepEqual(s.defined, [
      { alarmId: 'TT-101 high', state: 'acknowledged', priority: 700, kind: 'high', limit: 80, unit: '°C' },
      { alarmId: 'pump anomaly', state: 'normal', priority: 900, kind: 'flag', limit: 0, unit: '' },
    ]);
    for (let i = 0; i < 120; i++) set.command({ command: 'comment', alarmId: 'pump anomaly', comment: `note ${i}` }, 5000 + i);
    const long = (set.summary(6000) as Summary).trail;
    assert.equal(long.length, 100, 'bounded');
    assert.equal(long[0].ts, 5119);
    const snap = JSON.parse(JSON.stringify(set.snapshot()));
    snap.trail.splice(1, 0, { junk: true }, 'text');
    const again = new AlarmSet([temp, anomaly], options, 7000);
    again.restore(snap, 7000);
    assert.deepEqual((again.summary(7000) as Summary).trail.map((r) => r.ts), long.map((r) => r.ts), 'restored, without what is not an event');
  });

  it('survives a restart through a snapshot on disk, and a damaged file is moved aside', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-alarm-'));
    const file = path.join(dir, 'alarms.json');
    const set = new AlarmSet([temp, anomaly], options, 0);
    set.ingest({ payload: { temperature: 90 } }, 0);
    set.command({ command: 'shelve', alarmId: 'pump anomaly', duration: 3600 }, 0);
    saveJson(file, set.snapshot());
    const again = new AlarmSet([temp, anomaly], options, 10);
    assert.deepEqual(again.restore(loadJson(file).value as never, 10), { restored: 2, skipped: [] });
    assert.equal(again.stateOf('TT-101 high'), 'unacknowledged', 'an unacknowledged alarm is never forgotten');
    assert.equal(again.stateOf('pump anomaly'), 'shelved');
    assert.deepEqual(again.ingest({ payload: { temperature: 79 } }, 20), [], 'the deadband state came back too');
    fs.writeFileSync(file, '{"version":1,"alar');
    const damaged = loadJson(file);
    assert.equal(damaged.value, undefined);
    assert.match(damaged.movedAside!, /alarms\.json\.corrupt-\d+$/);
    assert.equal(fs.existsSync(file), false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('suppresses by design while a condition holds, e.g. the pump is stopped', () => {
    const low: AlarmConfig = { ...temp, id: 'low pressure', path: 'payload.pressure', kind: 'low', limit: 2, suppressWhen: '!payload.running' };
    const set = new AlarmSet([low], options, 0);
    const stop = set.ingest({ payload: { pressure: 0.1, running: false } }, 0);
    assert.deepEqual(stop.map((r) => [r.state, r.cause]), [['suppressed', 'suppressed by design']]);
    const start = set.ingest({ payload: { pressure: 4, running: true } }, 1000);
    assert.deepEqual(start.map((r) => [r.previous, r.state, r.cause]), [['suppressed', 'normal', 'suppression ended']],
      'the low pressure of the stopped pump is never annunciated');
    set.ingest({ payload: { pressure: 0.1, running: false } }, 2000);
    const stillLow = set.ingest({ payload: { pressure: 0.5, running: true } }, 3000);
    assert.deepEqual(stillLow.map((r) => [r.state, r.cause]), [['unacknowledged', 'suppression ended']], 'still low when it runs: now it must be seen');
  });

  it('saves facts that show no event, and skips malformed saved entries', () => {
    const latchingFlag: AlarmConfig = { ...anomaly };
    const set = new AlarmSet([latchingFlag, temp], options, 0);
    set.command({ command: 'shelve', alarmId: 'pump anomaly', duration: 60 }, 0);
    set.takeChanged();
    assert.deepEqual(set.ingest({ payload: { anomaly: true } }, 1), [], 'hidden while shelved');
    assert.equal(set.takeChanged(), true, 'but the state on disk must follow');
    const again = new AlarmSet([latchingFlag, temp], options, 5);
    const result = again.restore({ version: 1, alarms: { 'pump anomaly': { facts: null, rule: null }, 'TT-101 high': { facts: { active: true, acked: false }, rule: { condition: true } } } } as never, 5);
    assert.deepEqual(result, { restored: 1, skipped: ['pump anomaly'] });
    assert.equal(again.stateOf('TT-101 high'), 'unacknowledged');
  });

  it('validates the alarm list in words', () => {
    const inAlarm = (n: number, problem: object) => ({ key: 'inAlarm', vars: { n, id: 'TT-101 high', problem } });
    assert.deepEqual(validateAlarms([{ ...temp, id: '' }, { ...temp, priority: 0, path: 'a..b' }, { ...temp }, { ...temp }]), [
      { key: 'inAlarmN', vars: { n: 1, problem: { key: 'idRequired' } } },
      inAlarm(2, { key: 'path', vars: { problem: 'cannot read property path "a..b"' } }),
      inAlarm(2, { key: 'priority' }),
      inAlarm(3, { key: 'idTwice' }),
      inAlarm(4, { key: 'idTwice' }),
    ]);
  });
});

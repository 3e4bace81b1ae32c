import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { helper, runtimeWithStateDir, load, record, messages, lastStatus, errors, recorder, watchers } from '../support/red';
import { delay, waitFor } from '../../scripts/lib/net-util';

const ALARMS = [
  { id: 'high temperature', path: 'payload.temperature', kind: 'high', limit: '80', setpoint: '', deadband: '2', onDelay: '0', offDelay: '0', priority: '700', latching: false, unit: '°C', message: '{{id}}: {{value}} {{unit}}' },
  { id: 'pump anomaly', path: 'payload', kind: 'flag', limit: '', setpoint: '', deadband: '0', onDelay: '0', offDelay: '0', priority: '900', latching: true, unit: '', message: 'anomaly score {{value}}' },
  { id: 'sensor failure', path: 'payload', kind: 'bad-quality', limit: '', setpoint: '', deadband: '0', onDelay: '0', offDelay: '0', priority: '300', latching: false, unit: '', message: 'bad data' },
];

function alarm(extra: object = {}): object {
  return { id: 'al', type: 'edge-alarm', alarms: ALARMS, floodMax: '10', floodMinutes: '10', chatterMax: '5', chatterSeconds: '60', persist: true,
    wires: [['events'], ['summary']], ...extra };
}

const send = (msg: object) => (helper.getNode('al') as unknown as { receive(m: object): void }).receive(msg);

describe('nodes: edge-alarm', function () {
  const stateDir = runtimeWithStateDir('edge-alarm-state-');
  afterEach(() => helper.unload());
  beforeEach(() => fs.rmSync(path.join(stateDir, 'alarms'), { recursive: true, force: true }));

  it('raises, acknowledges (with who and comment) and clears, with a summary on each change', async () => {
    await load([alarm(), recorder('events'), recorder('summary')]);
    const events = record('events');
    const summary = record('summary');
    send({ topic: 'plant1/pump7', payload: { temperature: 85 }, ts: 1000 });
    const [raised] = await messages(events, 1);
    assert.equal(raised.topic, 'alarm/high temperature');
    assert.deepEqual([raised.payload.state, raised.payload.severity, raised.payload.message], ['unacknowledged', 'high', 'high temperature: 85 °C']);
    await waitFor(() => lastStatus('al')?.fill === 'red', 'a red status while unacknowledged');
    send({ command: 'ack', alarmId: 'high temperature', who: 'ana', comment: 'cooling checked' });
    send({ payload: { temperature: 70 } });
    const got = await messages(events, 3);
    assert.deepEqual(got.slice(1).map((m) => [m.payload.previous, m.payload.state, m.payload.who ?? null]), [
      ['unacknowledged', 'acknowledged', 'ana'], ['acknowledged', 'normal', null],
    ]);
    const last = (await messages(summary, 3)).pop()!;
    assert.deepEqual(last.payload.counts, { active: 0, unacknowledged: 0, shelved: 0, suppressed: 0, outOfService: 0 });
  });

  it('follows an anomaly flag with latching, and bad quality', async () => {
    await load([alarm(), recorder('events'), recorder('summary')]);
    const events = record('events');
    send({ payload: { anomaly: true, score: 7.5 }, quality: 'good' });
    send({ command: 'ack', alarmId: 'pump anomaly' });
    send({ payload: { anomaly: false, score: 0.4 } });
    send({ payload: { anomaly: false }, quality: 'bad' });
    const got = await messages(events, 4);
    assert.deepEqual(got.map((m) => [m.payload.alarmId, m.payload.state]), [
      ['pump anomaly', 'unacknowledged'], ['pump anomaly', 'acknowledged'], ['pump anomaly', 'latched'], ['sensor failure', 'unacknowledged'],
    ]);
  });

  it('deviation from the setpoint a message brings, rate of change, and stale data from the clock', async () => {
    const rules = [
      { ...ALARMS[0], id: 'deviation', path: 'payload.level', kind: 'deviation', limit: '5', setpoint: '50', deadband: '0' },
      { ...ALARMS[0], id: 'rate', path: 'payload.level', kind: 'rate', limit: '10', deadband: '0' },
      { ...ALARMS[0], id: 'stale', path: 'payload', kind: 'stale', limit: '1', deadband: '0' },
    ];
    await load([alarm({ alarms: rules, persist: false }), recorder('events'), recorder('summary')]);
    const events = record('events');
    send({ payload: { level: 50 }, ts: 0 });
    send({ payload: { level: 57 }, ts: 10_000 });
    send({ payload: { level: 57 }, setpoint: 55, ts: 11_000 });
    send({ payload: { level: 90 }, ts: 12_000 });
    await messages(events, 4);
    assert.deepEqual(events.messages.slice(0, 4).map((m) => [m.payload.alarmId, m.payload.state]), [
      ['deviation', 'unacknowledged'], ['deviation', 'rtn-unack'], ['deviation', 'unacknowledged'], ['rate', 'unacknowledged'],
    ]);
    await waitFor(() => events.messages.some((m) => m.payload.alarmId === 'stale'), 'the stale alarm from the clock', 4000);
  });

  it('replies to each command on output 2, ok or with the reason', async () => {
    await load([alarm({ persist: false }), recorder('events'), recorder('summary')]);
    const summary = record('summary');
    send({ command: 'ack', alarmId: 'high temperature', requestId: 'a' });
    send({ command: 'disable', alarmId: 'high temperature', requestId: 'b' });
    await waitFor(() => summary.messages.filter((m) => m.topic === 'alarm/command').length === 2, 'two replies');
    const replies = summary.messages.filter((m) => m.topic === 'alarm/command');
    assert.deepEqual(replies.map((m) => [m.requestId, m.payload]), [
      ['a', { ok: false, error: 'high temperature: the alarm is already acknowledged' }], ['b', { ok: true, events: 1 }],
    ]);
  });

  it('answers a summary request keeping the request\'s properties', async () => {
    await load([alarm({ persist: false }), recorder('events'), recorder('summary')]);
    const summary = record('summary');
    send({ command: 'summary', requestId: 'r-9' });
    const [s] = await messages(summary, 1);
    assert.deepEqual([s.requestId, s.topic, s.payload.counts.active], ['r-9', 'alarm/summary', 0]);
  });

  it('refuses bad commands and bad values with errors in words', async () => {
    await load([alarm(), recorder('events'), recorder('summary'), ...watchers('al')]);
    const caught = record('al-caught');
    send({ command: 'silence' });
    send({ command: 'ack', alarmId: 'nope' });
    send({ command: 'ack', alarmId: 'high temperature' });
    send({ command: 'shelve', alarmId: 'high temperature' });
    send({ payload: { temperature: 'hot' } });
    const errs = await messages(caught, 5);
    assert.deepEqual(errs.map((e) => e.error.message), [
      'Error: alarm command refused: unknown command "silence" (use ack, shelve, unshelve, reset, suppress, unsuppress, enable, disable, comment, summary)',
      'Error: alarm command refused: no alarm "nope" in this node (it has high temperature, pump anomaly, sensor failure)',
      'Error: alarm command refused: high temperature: the alarm is already acknowledged',
      'Error: alarm command refused: shelve needs msg.duration in seconds, at most 604800 (a shelf always expires)',
      'Error: alarm "high temperature": value "hot" at payload.temperature is not a number',
    ]);
  });

  it('a non-string alarmId acts on no alarm (only a missing one means all), and a duration is a number', async () => {
    await load([alarm({ persist: false }), recorder('events'), recorder('summary'), ...watchers('al')]);
    const caught = record('al-caught');
    for (const alarmId of [5, null, ['high temperature'], { id: 'x' }, true]) send({ command: 'disable', alarmId });
    for (const duration of [[60], true, '', 'soon', { s: 60 }]) send({ command: 'shelve', alarmId: 'high temperature', duration });
    const errs = await messages(caught, 10, 'ten refusals');
    assert.ok(errs.slice(0, 5).every((e) => /msg\.alarmId must be an alarm's id/.test(e.error.message)), errs.map((e) => e.error.message).join('\n'));
    assert.ok(errs.slice(5).every((e) => /msg\.duration must be a number of seconds/.test(e.error.message)), errs.map((e) => e.error.message).join('\n'));
    const summary = record('summary');
    send({ command: 'summary' });
    const [s] = await messages(summary, 1);
    assert.equal(s.payload.counts.outOfService, 0, 'no alarm was disabled');
    // a BigInt where a number belongs is an error in words, not a throw
    send({ payload: { temperature: 10n } });
    assert.match((await messages(caught, 11))[10].error.message, /value 10n at payload\.temperature is not a number/);
  });

  it('keeps alarm states across a restart: an unacknowledged alarm is never forgotten', async () => {
    await load([alarm(), recorder('events'), recorder('summary')]);
    send({ payload: { temperature: 90 } });
    send({ command: 'shelve', alarmId: 'pump anomaly', duration: 3600, who: 'ana' });
    await messages(record('events'), 1);
    await delay(50);
    await helper.unload(); // Node-RED stops
    await load([alarm(), recorder('events'), recorder('summary')]); // and starts again
    const summary = record('summary');
    send({ command: 'summary' });
    const [s] = await messages(summary, 1);
    // highest priority first
    assert.deepEqual(s.payload.alarms.map((a: { alarmId: string; state: string }) => [a.alarmId, a.state]), [
      ['pump anomaly', 'shelved'], ['high temperature', 'unacknowledged'],
    ]);
    const file = path.join(stateDir, 'alarms', 'al.json');
    assert.ok(fs.existsSync(file));
  });

  it('starts normal, with a warning, when the saved state is damaged', async () => {
    fs.mkdirSync(path.join(stateDir, 'alarms'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'alarms', 'al.json'), '{"version":1,"al');
    await load([alarm(), recorder('events'), recorder('summary')]);
    const node = helper.getNode('al') as unknown as { warn: { args: unknown[][]; thisValues: unknown[] } };
    const warnings = node.warn.args.filter((_, i) => node.warn.thisValues[i] === node).map((a) => String(a[0]));
    assert.match(warnings[0], /^the saved alarm states could not be read \(.+\); the file was moved to .+al\.json\.corrupt-\d+ and alarms start normal$/);
    assert.equal(errors('al').length, 0);
  });

  it('reports an unusable configuration at deploy', async () => {
    await load([alarm({ alarms: [{ ...ALARMS[0], priority: '0' }, { ...ALARMS[0], id: '' }] }), recorder('events'), recorder('summary')]);
    assert.equal(errors('al')[0][0], 'edge-alarm configuration is not usable: alarm 1 "high temperature": priority must be 1 to 1000; alarm 2: an id is required');
  });
});

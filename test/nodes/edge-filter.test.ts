import assert from 'node:assert/strict';
import { helper, load, record, messages, startServer, stopServer, lastStatus, errors, recorder, watchers } from '../support/red';
import { delay, waitFor } from '../../scripts/lib/net-util';

function filter(extra: object = {}): object {
  return { id: 'f', type: 'edge-filter', key: 'topic', property: 'payload', quality: 'good-uncertain', min: '', max: '', rangeAction: 'drop',
    outlier: 'none', outlierWindow: '30', outlierThreshold: '4', stepAfter: '3', deadband: 'none', deadbandValue: '0', deadbandCompare: 'sent',
    heartbeat: '', rate: 'none', rateInterval: '1', reportSuppressed: false, maxStreams: '1000', wires: [['out'], ['rejected']], ...extra };
}

const send = (msg: object) => (helper.getNode('f') as unknown as { receive(m: object): void }).receive(msg);

describe('nodes: edge-filter', function () {
  before(startServer);
  after(stopServer);
  afterEach(() => helper.unload());

  it('passes good values and rejects bad ones on output 2 with the reason; done() for every message', async () => {
    await load([filter({ min: '0', max: '100' }), recorder('out'), recorder('rejected'), ...watchers('f')]);
    const out = record('out');
    const rejected = record('rejected');
    const completed = record('f-completed');
    for (const m of [
      { topic: 't', payload: 20 }, { topic: 't', payload: 'x' }, { topic: 't', payload: 150 }, { topic: 't', payload: 30, quality: 'bad' },
      { topic: 't', payload: null }, { topic: 't', payload: '40' },
    ]) send(m);
    await messages(completed, 6, 'done() for all six');
    assert.deepEqual(out.messages.map((m) => m.payload), [20, 40]);
    assert.deepEqual(rejected.messages.map((m) => [m.reason, m.detail]), [
      ['not-numeric', 'value "x" is not a finite number'], ['range', '150 is outside 0 to 100'], ['quality', 'quality is bad'],
      ['not-numeric', 'value null is not a finite number'],
    ]);
    assert.equal(errors('f').length, 0);
    await waitFor(() => lastStatus('f')?.fill === 'green' || lastStatus('f')?.fill === 'yellow', 'a status');
  });

  it("takes edge-sensor's object of channels field by field, and edge-aggregate's statistics by their mean", async () => {
    await load([filter({ min: '0', max: '2000', deadband: 'absolute', deadbandValue: '1', heartbeat: '0.2' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    const rejected = record('rejected');
    send({ topic: 'pump', payload: { temperature: 61, pressure: 2500, label: 'pump 7' }, ts: 1 });
    const [first] = await messages(out, 1);
    assert.deepEqual([first.payload, first.ts], [{ temperature: 61, label: 'pump 7' }, 1]);
    const [bad] = await messages(rejected, 1);
    assert.deepEqual([bad.field, bad.reason, bad.detail], ['pressure', 'range', '2500 is outside 0 to 2000']);
    // each field its own stream: the heartbeat of temperature repeats temperature alone
    const beat = (await messages(out, 2, 'the heartbeat of the temperature stream'))[1];
    assert.deepEqual([beat.payload, beat.heartbeat], [{ temperature: 61 }, true]);
    send({ topic: 'pump', payload: { temperature: { count: 10, mean: 61.4, max: 62 }, speed: { count: 10, mean: 1480, max: 1490 } } });
    await waitFor(() => out.messages.some((m) => m.payload.speed), 'the statistics message');
    const stats = out.messages.find((m) => m.payload.speed)!;
    assert.deepEqual(stats.payload, { speed: { count: 10, mean: 1480, max: 1490 } }, 'temperature within its deadband, speed passed whole');
  });

  it('passes the message itself, not a copy; a heartbeat repeats the message as it came, whatever a later node did to it', async () => {
    await load([filter({ deadband: 'absolute', deadbandValue: '0.5', heartbeat: '0.2' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    const marker = { site: 'plant 1' };
    send({ topic: 't', payload: 10, marker });
    const [first] = await messages(out, 1);
    assert.equal(first.marker, marker, 'the very message: nothing was copied');
    // a node after the filter changes the message it was given
    first.topic = 'changed';
    first.payload = 999;
    first.marker.site = 'changed';
    const beat = (await messages(out, 2, 'a heartbeat'))[1];
    assert.deepEqual([beat.topic, beat.payload, beat.marker, beat.heartbeat], ['t', 10, { site: 'plant 1' }, true]);
  });

  it('with no clock (deadband only), takes no copy at all: the suppressed and the passed are the messages sent', async () => {
    await load([filter({ deadband: 'absolute', deadbandValue: '0.5' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    const sent = [10, 10.2, 10.6, 10.7, 11.2].map((payload) => ({ topic: 't', payload, marker: { payload } }));
    for (const m of sent) send(m);
    await messages(out, 3, 'three past the deadband');
    assert.deepEqual(out.messages.map((m) => m.payload), [10, 10.6, 11.2]);
    assert.ok(out.messages.every((m, i) => m.marker === sent[[0, 2, 4][i]].marker), 'the messages themselves');
  });

  it('reports by exception per stream, and the heartbeat repeats the last value on the clock', async () => {
    await load([filter({ deadband: 'absolute', deadbandValue: '0.5', heartbeat: '0.3' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    for (const [topic, x] of [['a', 10], ['b', 50], ['a', 10.2], ['b', 50.1], ['a', 11], ['b', 60]] as const) send({ topic, payload: x });
    await delay(50);
    assert.deepEqual(out.messages.map((m) => [m.topic, m.payload]), [['a', 10], ['b', 50], ['a', 11], ['b', 60]]);
    await waitFor(() => out.messages.filter((m) => m.heartbeat).length >= 2, 'heartbeats for both streams', 3000);
    const beats = out.messages.filter((m) => m.heartbeat).slice(0, 2);
    assert.deepEqual(beats.map((m) => [m.topic, m.payload]).sort(), [['a', 11], ['b', 60]]);
  });

  it('rate limits to the average per interval, sent on the clock', async () => {
    await load([filter({ rate: 'average', rateInterval: '0.3' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    for (const x of [1, 2, 3, 6]) send({ topic: 'r', payload: x, extra: 'kept', ts: 1000 + x });
    const [m] = await messages(out, 1, 'the average', 3000);
    assert.deepEqual([m.topic, m.payload, m.extra, m.ts], ['r', 3, 'kept', 1006], 'the time of the last measurement is kept');
    await delay(400);
    assert.equal(out.messages.length, 1, 'nothing more without new values');
  });

  it('rejects an outlier by MAD but follows a real step', async () => {
    await load([filter({ outlier: 'mad', outlierWindow: '20', outlierThreshold: '5', stepAfter: '3' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    const rejected = record('rejected');
    const values = [10, 10.1, 9.9, 10.05, 9.95, 10.1, 9.9, 10, 10.02, 9.98, 40, 10.01, 20, 20.1, 19.9, 20.05];
    for (const x of values) send({ topic: 's', payload: x });
    await delay(50);
    assert.deepEqual(rejected.messages.map((m) => [m.payload, m.reason]), [[40, 'outlier'], [20, 'outlier'], [20.1, 'outlier']]);
    assert.deepEqual(out.messages.slice(-2).map((m) => [m.payload, m.filtered]), [[19.9, 'step'], [20.05, undefined]]);
  });

  it('clamps a property of an object payload, or passes out-of-range values marked bad', async () => {
    await load([filter({ property: 'payload.v', min: '0', max: '10', rangeAction: 'clamp' }), recorder('out'), recorder('rejected')]);
    send({ topic: 'c', payload: { v: 12, w: 1 }, ts: 5 });
    const [m] = await messages(record('out'), 1);
    assert.deepEqual([m.payload, m.filtered, m.ts], [{ v: 10, w: 1 }, 'clamped', 5]);
    await helper.unload();
    await load([filter({ max: '10', rangeAction: 'mark-bad' }), recorder('out'), recorder('rejected')]);
    const out = record('out');
    send({ topic: 'c', payload: 12, quality: 'good' });
    const [bad] = await messages(out, 1);
    assert.deepEqual([bad.payload, bad.quality], [12, 'bad']);
  });

  it('reports an unusable configuration at deploy', async () => {
    await load([filter({ min: '5', max: '1', outlier: 'zscore', outlierWindow: '2' }), recorder('out'), recorder('rejected')]);
    assert.equal(errors('f')[0][0], 'edge-filter configuration is not usable: the minimum is above the maximum; the outlier window must be 5 to 10000 samples');
  });
});

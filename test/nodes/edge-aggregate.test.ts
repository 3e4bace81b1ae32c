import assert from 'node:assert/strict';
import { helper, load, record, messages, startServer, stopServer, lastStatus, errors, recorder, watchers } from '../support/red';
import { delay, waitFor } from '../../scripts/lib/net-util';

function aggregate(extra: object = {}): object {
  return { id: 'agg', type: 'edge-aggregate', key: 'topic', window: 'tumbling', size: '1', hop: '', align: 'clock', time: 'event',
    lateness: '0', partial: 'flush', statistics: 'count,mean,min,max', output: 'stats', featureSource: 'stats', points: '4',
    layout: 'channel-major', channels: '', maxStreams: '1000', maxSamples: '100000', wires: [['out'], ['refused']], ...extra };
}

type Node = { receive(msg: object): void };
const send = (msg: object) => (helper.getNode('agg') as Node).receive(msg);

describe('nodes: edge-aggregate', function () {
  before(startServer);
  after(stopServer);
  afterEach(() => helper.unload());

  it('event-time tumbling windows per stream, with exact bounds and statistics', async () => {
    await load([aggregate(), recorder('out'), recorder('refused')]);
    const out = record('out');
    const base = Date.UTC(2026, 10, 24, 12, 0, 0);
    for (const [topic, x, dt] of [['a', 1, 0], ['b', 10, 100], ['a', 3, 900], ['b', 30, 950], ['a', 5, 1000], ['b', 50, 1500], ['a', 7, 2000]] as const) {
      send({ topic, payload: x, ts: base + dt });
    }
    const got = await messages(out, 3);
    // each stream's window closes when that stream's own next window begins
    assert.deepEqual(got.map((m) => [m.topic, m.payload, m.window, m.ts]), [
      ['a', { count: 2, mean: 2, min: 1, max: 3 }, { start: base, end: base + 1000, count: 2 }, base + 1000],
      ['b', { count: 2, mean: 20, min: 10, max: 30 }, { start: base, end: base + 1000, count: 2 }, base + 1000],
      ['a', { count: 1, mean: 5, min: 5, max: 5 }, { start: base + 1000, end: base + 2000, count: 1 }, base + 2000],
    ]);
  });

  it('aggregates each field of object payloads (booleans as 0/1, text left out)', async () => {
    await load([aggregate({ window: 'count', size: '2', statistics: 'mean,max' }), recorder('out'), recorder('refused')]);
    const out = record('out');
    send({ topic: 'pump', payload: { temperature: 60, pressure: 4, running: true, label: 'x' }, ts: 1 });
    send({ topic: 'pump', payload: { temperature: 62, pressure: 5, running: false }, ts: 2 });
    const [m] = await messages(out, 1);
    assert.deepEqual(m.payload, { temperature: { mean: 61, max: 62 }, pressure: { mean: 4.5, max: 5 }, running: { mean: 0.5, max: 1 } });
  });

  it('rounds statistics to the significant digits asked for', async () => {
    await load([aggregate({ window: 'count', size: '3', statistics: 'mean,stddev', precision: '4' }), recorder('out'), recorder('refused')]);
    const out = record('out');
    for (const [x, ts] of [[1, 1], [2, 2], [2, 3]]) send({ topic: 'r', payload: x, ts });
    const [m] = await messages(out, 1);
    assert.deepEqual(m.payload, { mean: 1.667, stddev: 0.4714 });
  });

  it('sends statistics by exception: when a mean moved beyond the deadband, or at the heartbeat', async () => {
    await load([aggregate({ window: 'tumbling', size: '60', statistics: 'count,mean', exception: 'percent', exceptionBand: '2', exceptionHeartbeat: '300' }), recorder('out'), recorder('refused')]);
    const out = record('out');
    const base = Date.UTC(2026, 10, 24, 12, 0, 0);
    // one reading a minute: 100, 101, 101.5 (within 2 % of 100), 103 (3 %), then 103 for five minutes
    const values = [100, 101, 101.5, 103, 103, 103, 103, 103, 103, 103];
    values.forEach((x, i) => send({ topic: 'p', payload: x, ts: base + i * 60_000 + 1 }));
    send({ topic: 'p', payload: 103, ts: base + values.length * 60_000 + 1 }); // closes the last window
    // the minutes sent: 0 (the first), 3 (3 % above 100), 8 (the heartbeat: 5 minutes after 3)
    const got = await messages(out, 3);
    assert.deepEqual(got.map((m) => [(m.window.start - base) / 60_000, m.payload.mean]), [[0, 100], [3, 103], [8, 103]]);
    send({ topic: 'p', flush: true });
    // another stream's first window, sent after it: once it is out, the flush of p has been handled
    send({ topic: 'q', payload: 1, ts: base });
    send({ topic: 'q', flush: true });
    const after = await messages(out, 4);
    assert.deepEqual(after.slice(3).map((m) => m.topic), ['q'], 'the flushed window 10 of p is within the band and not due: held');
  });

  it('refuses a deadband without the mean to compare', async () => {
    await load([aggregate({ statistics: 'count,max', exception: 'absolute', exceptionBand: '1' }), recorder('out'), recorder('refused')]);
    assert.match(String(errors('agg')[0]?.[0]), /sending on change compares the means: add mean to the statistics/);
  });

  it('refuses late samples with a reason on output 2', async () => {
    await load([aggregate({ lateness: '0.5' }), recorder('out'), recorder('refused')]);
    const refused = record('refused');
    send({ topic: 's', payload: 1, ts: 100 });
    send({ topic: 's', payload: 2, ts: 1600 }); // closes [0, 1000)
    send({ topic: 's', payload: 3, ts: 400, id: 'late-one' });
    const [r] = await messages(refused, 1);
    assert.deepEqual([r.reason, r.id, r.payload], ['late', 'late-one', 3]);
  });

  it('outputs a feature vector with names, and reports windows whose vector cannot be made', async () => {
    await load([aggregate({ window: 'count', size: '3', output: 'features', featureSource: 'stats', statistics: 'mean,slope' }),
      recorder('out'), recorder('refused'), ...watchers('agg')]);
    const out = record('out');
    for (let i = 0; i < 3; i++) send({ topic: 'v', payload: { x: i * 2, y: 10 }, ts: i * 1000 });
    const [m] = await messages(out, 1);
    assert.deepEqual(m.payload, [2, 2, 10, 0]);
    assert.deepEqual(m.features, ['x.mean', 'x.slope', 'y.mean', 'y.slope']);
    await helper.unload();
    await load([aggregate({ window: 'count', size: '1', output: 'features', statistics: 'slope' }), recorder('out'), recorder('refused'), ...watchers('agg')]);
    const caught2 = record('agg-caught');
    send({ topic: 'v', payload: 1, ts: 1 });
    const [c] = await messages(caught2, 1);
    assert.equal(c.error.message, 'Error: no feature vector for v: feature slope is undefined for this window (1 sample(s))');
  });

  it('flush: false and reset: false are not commands; a command without a topic acts on no other stream', async () => {
    await load([aggregate({ window: 'count', size: '3' }), recorder('out'), recorder('refused'), ...watchers('agg')]);
    const out = record('out');
    const completed = record('agg-completed');
    send({ topic: 'a', payload: 1 });
    send({ topic: 'a', payload: 2, flush: false });
    send({ topic: 'b', payload: 10 });
    send({ flush: true });
    send({ reset: true });
    send({ topic: 'a', payload: 3, reset: false });
    await messages(completed, 6, 'done for each');
    assert.deepEqual(out.messages.map((m) => [m.topic, m.payload.count, m.payload.mean]), [['a', 3, 2]], 'a counted 1, 2, 3; b was neither flushed nor reset');
    send({ topic: 'b', payload: 20 });
    send({ topic: 'b', payload: 30 });
    await messages(out, 2);
    assert.deepEqual([out.messages[1].topic, out.messages[1].payload.mean], ['b', 20]);
  });

  it('a payload with more fields than the stream may hold is refused on output 2 and counted, and the stream goes on', async () => {
    await load([aggregate({ window: 'count', size: '2', maxFields: '100' }), recorder('out'), recorder('refused'), ...watchers('agg')]);
    const refused = record('refused');
    const out = record('out');
    send({ topic: 'w', payload: Buffer.alloc(100 * 1024, 1) });
    send({ topic: 'w', payload: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`f${i}`, i])) });
    const caught = await messages(record('agg-caught'), 1);
    assert.match(caught[0].error.message, /binary payload/);
    assert.equal((await messages(refused, 1))[0].reason, 'fields');
    send({ topic: 'w', payload: { a: 1 } });
    send({ topic: 'w', payload: { a: 3 } });
    assert.deepEqual((await messages(out, 1))[0].payload, { a: { count: 2, mean: 2, min: 1, max: 3 } });
  });

  it('flushes and resets on request, and flushes partial windows on redeploy', async () => {
    await load([aggregate({ window: 'count', size: '10' }), recorder('out'), recorder('refused'), ...watchers('agg')]);
    const out = record('out');
    send({ topic: 'a', payload: 1, ts: 1 });
    send({ topic: 'a', payload: 3, ts: 2 });
    send({ topic: 'a', flush: true });
    const [f] = await messages(out, 1);
    assert.deepEqual([f.payload.mean, f.window.partial, f.window.count], [2, true, 2]);
    send({ topic: 'a', payload: 100, ts: 3 });
    send({ topic: 'a', reset: true });
    send({ topic: 'a', payload: 5, ts: 4 });
    await delay(50);
    assert.equal(out.messages.length, 1, 'reset dropped the 100');
    // a redeploy: the partial window [5] is sent as the node closes (it reaches nodes that stay deployed)
    const node = helper.getNode('agg') as unknown as { send: { args: unknown[][]; thisValues: unknown[] } };
    await helper.unload();
    const sent = node.send.args.filter((_, i) => node.send.thisValues[i] === node).map((a) => a[0]);
    const last = sent[sent.length - 1] as Array<Record<string, any> | Array<Record<string, any>>>;
    // output 1 holds one message, or several in an array (Node-RED delivers both the same way)
    const windows = ([] as Array<Record<string, any>>).concat(last[0]);
    assert.deepEqual(windows.map((m) => [m.payload.mean, m.window.partial]), [[5, true]]);
  });

  it('rejects bad input with a clear error and keeps running', async () => {
    await load([aggregate(), recorder('out'), recorder('refused'), ...watchers('agg')]);
    const caught = record('agg-caught');
    const out = record('out');
    send({ topic: 'a', payload: 'hot', ts: 1 });
    send({ topic: 'a', payload: NaN, ts: 1 });
    send({ topic: 'a', payload: [1, 2], ts: 1 });
    send({ topic: 'a', payload: 1 });
    send({ topic: 'a', payload: 1, ts: 1 });
    send({ topic: 'a', payload: 3, ts: 2 });
    send({ topic: 'a', payload: 9, ts: 1000 }); // closes [0, 1000)
    const errs = await messages(caught, 4);
    assert.deepEqual(errs.map((e) => e.error.message), [
      'Error: cannot aggregate the message on a: payload "hot" is not numeric',
      'Error: cannot aggregate the message on a: payload NaN is not a finite number',
      'Error: cannot aggregate the message on a: an array payload is not a sample (send one number or an object of numbers)',
      'Error: event time needs msg.ts (epoch ms) on a',
    ]);
    const [m] = await messages(out, 1);
    assert.equal(m.payload.mean, 2);
    await waitFor(() => lastStatus('agg')?.fill === 'green', 'the status back to green');
  });

  it('keeps streams isolated and caps their number', async () => {
    await load([aggregate({ window: 'count', size: '2', maxStreams: '2', partial: 'drop' }), recorder('out'), recorder('refused')]);
    const out = record('out');
    send({ topic: 'a', payload: 1, ts: 1 });
    send({ topic: 'b', payload: 10, ts: 1 });
    send({ topic: 'a', payload: 3, ts: 2 }); // a's window: 1, 3
    send({ topic: 'c', payload: 100, ts: 1 }); // a third stream pushes out b, the least recently used
    send({ topic: 'b', payload: 30, ts: 2 });
    send({ topic: 'b', payload: 50, ts: 3 }); // b starts afresh: 30, 50
    const got = await messages(out, 2);
    await delay(50);
    assert.deepEqual(got.map((m) => [m.topic, m.payload.mean]), [['a', 2], ['b', 40]]);
    assert.equal(errors('agg').length, 0);
  });

  it('reports an unusable configuration at deploy', async () => {
    await load([aggregate({ window: 'hopping', size: '10', hop: '20', statistics: 'mean,avg' }), recorder('out'), recorder('refused')]);
    assert.equal(errors('agg')[0][0], 'edge-aggregate configuration is not usable: a hopping window hops by more than 0 and at most its length; "avg" is not a statistic (use count, sum, mean, min, max, first, last, range, stddev, variance, median, rms, slope, rate or a percentile such as p95)');
  });

  it('closes processing-time windows on the clock', async () => {
    await load([aggregate({ time: 'processing', size: '0.2', statistics: 'count,sum' }), recorder('out'), recorder('refused')]);
    const out = record('out');
    for (let i = 0; i < 5; i++) send({ topic: 'p', payload: 1 });
    await waitFor(() => out.messages.length >= 1, 'a window closed by the clock', 3000);
    assert.ok(out.messages.every((m) => m.window.end - m.window.start === 200 && m.window.start % 200 === 0));
    await waitFor(() => out.messages.reduce((s, m) => s + m.payload.sum, 0) === 5, 'all five samples counted once', 3000);
  });
});

import assert from 'node:assert/strict';
import { helper, load, record, messages, startServer, stopServer, lastStatus, errors, recorder, watchers } from '../support/red';
import { delay } from '../../scripts/lib/net-util';

const channels = [
  { name: 'vibration', waveform: 'random-walk', base: '2', amplitude: '0.1', periodS: '', noise: '0.05', drift: '0' },
  { name: 'level', waveform: 'constant', base: 5, amplitude: 0, periodS: 60, noise: 0, drift: 0 },
];

function sensor(extra: object = {}): object {
  return {
    id: 'sim', type: 'edge-sensor', source: 'simulator', topic: 'plant1/line2', interval: '0.02', seed: '9',
    outputMode: 'object', channels, anomalies: [], wires: [['out']], ...extra,
  };
}

describe('nodes: edge-sensor simulator source', function () {
  before(startServer);
  after(stopServer);
  afterEach(() => helper.unload());

  it('sends the message contract on its interval', async () => {
    await load([sensor(), recorder('out')]);
    const rec = record('out');
    const got = await messages(rec, 5);
    for (const m of got.slice(0, 5)) {
      assert.equal(m.topic, 'plant1/line2');
      assert.deepEqual(Object.keys(m.payload), ['vibration', 'level']);
      assert.equal(m.payload.level, 5);
      assert.equal(typeof m.payload.vibration, 'number');
      assert.equal(m.quality, 'good');
      assert.ok(Math.abs(m.ts - Date.now()) < 5000);
    }
    assert.ok(got[1].ts >= got[0].ts);
  });

  it('is reproducible: the same seed gives the same series', async () => {
    await load([sensor(), recorder('out')]);
    const first = (await messages(record('out'), 6)).slice(0, 6).map((m) => m.payload.vibration);
    await helper.unload();
    await load([sensor(), recorder('out')]);
    const second = (await messages(record('out'), 6)).slice(0, 6).map((m) => m.payload.vibration);
    assert.deepEqual(second, first);
  });

  it('sends one message per channel and answers an input message, keeping its properties', async () => {
    await load([sensor({ interval: '3600', outputMode: 'each' }), recorder('out'), ...watchers('sim')]);
    const rec = record('out');
    const completed = record('sim-completed');
    const node = helper.getNode('sim') as { receive(msg: object): void };
    node.receive({ payload: 'sample now', requestId: 'r-1' });
    const got = await messages(rec, 2);
    assert.deepEqual(got.map((m) => [m.topic, m.requestId, m.quality]), [
      ['plant1/line2/vibration', 'r-1', 'good'], ['plant1/line2/level', 'r-1', 'good'],
    ]);
    assert.equal(got[1].payload, 5);
    const [complete] = await messages(completed, 1, 'done() of the input');
    assert.equal(complete.requestId, 'r-1');
    assert.equal(lastStatus('sim')?.fill, 'blue');
  });

  it('reports an unusable configuration at deploy and refuses input with done(err)', async () => {
    await load([
      sensor({ channels: [{ name: 'x', waveform: 'sine', base: 1, amplitude: 1, periodS: 0, noise: 0, drift: 0 }] }),
      recorder('out'),
      ...watchers('sim'),
    ]);
    assert.deepEqual(errors('sim')[0][0], 'edge-sensor configuration is not usable: channel 1 "x": a sine needs a period above 0 s');
    assert.deepEqual(lastStatus('sim'), { fill: 'red', shape: 'ring', text: 'config error' });
    const caught = record('sim-caught');
    (helper.getNode('sim') as { receive(msg: object): void }).receive({ payload: 1 });
    const [c] = await messages(caught, 1);
    assert.equal(c.error.message, 'Error: this edge-sensor is not configured correctly; see the error reported at deploy');
    await delay(50);
    assert.equal(record('out').messages.length, 0);
  });
});

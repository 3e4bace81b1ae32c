/**
 * The fuzz tier: every node, in a real Node-RED runtime with its real parts (an aedes broker, an ONNX model, a
 * SQLite buffer), takes 10,000 generated messages straight into its input handler. Each message must end in
 * exactly one done(), with no synchronous throw, no uncaught exception or unhandled rejection, and an error text
 * of bounded length; afterwards the node must still do its job. A failure prints the seed and message number.
 */
import assert from 'node:assert/strict';
import { ModelStore } from '../../nodes/core/models/model-store';
import { ERROR_TEXT_MAX } from '../../nodes/core/shared/errors';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { freePort, waitFor } from '../../scripts/lib/net-util';
import { helper, lastStatus, load, messages, record, recorder, runtimeWithStateDir } from '../support/red';
import { model, tempDir, testZoo } from '../support/models';
import { anyMessage, anyValue, fuzzRandom, MessageShape } from './generate';
import mqtt from 'mqtt';
import zlib from 'node:zlib';
import { MAX_INFLATED_BYTES } from '../../nodes/core/uplink/columns';
import { cloudSubscriber } from '../support/cloud';

const MESSAGES = Number(process.env.EDGE_FUZZ_MESSAGES ?? 10_000);
const SEED = Number(process.env.EDGE_FUZZ_SEED ?? 20261201);

type Handler = (msg: unknown, send: (m: unknown) => void, done: (err?: Error) => void) => void;

/** The node's own input handler, as Node-RED calls it, so a synchronous throw is seen (Node-RED would catch it). */
function inputHandler(id: string): Handler {
  const node = helper.getNode(id) as unknown as { _inputCallback: Handler | null; _inputCallbacks: Handler[] | null };
  const handler = node._inputCallback ?? node._inputCallbacks?.[0];
  if (!handler) throw new Error(`${id} has no input handler`);
  return handler.bind(node);
}

interface Outcome {
  dones: number[];
  failures: string[];
}

/** Sends the generated messages in slices (so timers and I/O get their turn) and waits for every done(). */
async function fuzz(id: string, shape: MessageShape, seed: number): Promise<Outcome> {
  const handler = inputHandler(id);
  const node = helper.getNode(id) as unknown as { send(m: unknown): void };
  // the runtime's own send: what the node sends is routed (and cloned where Node-RED clones) as in a flow
  const send = (m: unknown) => node.send(m);
  const r = fuzzRandom(seed);
  const outcome: Outcome = { dones: new Array(MESSAGES).fill(0), failures: [] };
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const where = (i: number) => `${id}: seed ${seed}, message ${i}`;
  try {
    for (let i = 0; i < MESSAGES; i++) {
      const msg = anyMessage(r, shape);
      try {
        handler(msg, send, (err?: Error) => {
          outcome.dones[i]++;
          if (outcome.dones[i] > 1) outcome.failures.push(`${where(i)}: done() called ${outcome.dones[i]} times`);
          if (err !== undefined && !(err instanceof Error)) outcome.failures.push(`${where(i)}: done() with a non-Error`);
          if (err && err.message.length > ERROR_TEXT_MAX * 2) outcome.failures.push(`${where(i)}: an error of ${err.message.length} characters`);
        });
      } catch (err) {
        outcome.failures.push(`${where(i)}: the handler threw ${String((err as Error)?.message ?? err).slice(0, 200)}`);
      }
      if (i % 200 === 199) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => outcome.dones.every((d) => d >= 1), `${id}: a done() for each of the ${MESSAGES} messages`, 120_000)
      .catch(() => outcome.failures.push(`${id}: seed ${seed}: no done() for messages ${outcome.dones.flatMap((d, i) => (d ? [] : [i])).slice(0, 10).join(', ')}…`));
    // late double calls and late uncaught errors have a moment to show
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  for (const err of uncaught) outcome.failures.push(`${id}: seed ${seed}: uncaught ${String((err as Error)?.stack ?? err).slice(0, 300)}`);
  return outcome;
}

function assertClean(o: Outcome): void {
  // one line per kind of failure (the first message of each), so a report stays readable
  const kinds = new Map<string, string>();
  for (const f of o.failures) {
    const kind = f.replace(/message \d+/, 'message N').replace(/seed \d+/, 'seed S');
    if (!kinds.has(kind)) kinds.set(kind, f);
  }
  assert.deepEqual([...kinds.values()].slice(0, 30), [], `${o.failures.length} failure(s) of ${kinds.size} kind(s)`);
}

/** A model store with pump-anomaly 1 installed and active. */
function anomalyStore(): { dir: string; store: ModelStore } {
  const dir = tempDir();
  const store = ModelStore.shared(dir);
  const m = model('pump-anomaly');
  store.install(m.manifest, m.onnx);
  store.activate(m.name, '1');
  return { dir, store };
}

const receive = (msg: object) => (helper.getNode('n') as unknown as { receive(m: object): void }).receive(msg);

const ALARMS = [
  { id: 'high temperature', path: 'payload.temperature', kind: 'high', limit: '80', setpoint: '', deadband: '2', onDelay: '0', offDelay: '0', priority: '700', latching: false, unit: '°C', message: '{{id}}: {{value}} {{unit}}' },
  { id: 'pump anomaly', path: 'payload', kind: 'flag', limit: '', setpoint: '', deadband: '0', onDelay: '0', offDelay: '0', priority: '900', latching: true, unit: '', message: 'anomaly {{value}}' },
  { id: 'sensor failure', path: 'payload', kind: 'bad-quality', limit: '', setpoint: '', deadband: '0', onDelay: '0', offDelay: '0', priority: '300', latching: false, unit: '', message: 'bad data' },
];

describe('fuzz: every node takes hostile messages and keeps working', function () {
  this.timeout(300_000);
  runtimeWithStateDir('edge-fuzz-state-');
  let broker: EmbeddedBroker;
  before(async () => {
    broker = await startAedes(await freePort());
  });
  after(async () => {
    await broker.close();
  });
  afterEach(() => helper.unload());

  it('edge-filter', async () => {
    await load([{ id: 'n', type: 'edge-filter', property: 'payload', key: 'topic', quality: 'good-uncertain', min: '0', max: '100', rangeAction: 'drop',
      outlier: 'zscore', outlierWindow: '30', outlierThreshold: '4', deadband: 'absolute', deadbandValue: '0.5', heartbeat: '', rate: 'none', wires: [['out'], ['rejected']] },
    recorder('out'), recorder('rejected')]);
    assertClean(await fuzz('n', { commands: ['reset'], fields: ['reset'] }, SEED));
    const out = record('out');
    receive({ topic: 'after', payload: 42 } as never);
    assert.equal((await messages(out, 1))[0].payload, 42);
  });

  it('edge-aggregate', async () => {
    await load([{ id: 'n', type: 'edge-aggregate', key: 'topic', window: 'count', size: '5', statistics: 'count,mean,min,max,first,last,p90', output: 'stats',
      maxStreams: '100', maxSamples: '1000', maxFields: '100', wires: [['out'], ['refused']] }, recorder('out'), recorder('refused')]);
    assertClean(await fuzz('n', { commands: [], fields: ['flush', 'reset', 'features'] }, SEED + 1));
    const out = record('out');
    for (let i = 1; i <= 5; i++) receive({ topic: 'after', payload: i } as never);
    assert.deepEqual((await messages(out, 1))[0].payload, { count: 5, mean: 3, min: 1, max: 5, first: 1, last: 5, p90: 4.6 });
  });

  it('edge-alarm', async () => {
    await load([{ id: 'n', type: 'edge-alarm', alarms: ALARMS, floodMax: '10', floodMinutes: '10', chatterMax: '5', chatterSeconds: '60', persist: true,
      wires: [['events'], ['summary']] }, recorder('events'), recorder('summary')]);
    assertClean(await fuzz('n', { commands: ['ack', 'shelve', 'unshelve', 'disable', 'enable', 'reset', 'summary', 'comment', 'bogus'], fields: ['alarmId', 'duration', 'who', 'comment', 'setpoint'] }, SEED + 2));
    const summary = record('summary');
    receive({ command: 'enable' } as never);
    receive({ command: 'summary' } as never);
    await waitFor(() => summary.messages.some((m) => m.topic === 'alarm/summary'), 'a summary after the fuzz');
  });

  // the generated payloads (deep, wide, odd keys, every JSON type) through each encoding, decoded at the cloud
  for (const format of ['json', 'columns']) {
    it(`edge-uplink (${format})`, async () => {
      const cloud = await cloudSubscriber(broker.port);
      await load([{ id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${broker.port}`, clientId: '', protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true },
        { id: 'n', type: 'edge-uplink', broker: 'cloud', topic: 'cloud/${topic}', qos: '1', format, durability: 'os', maxRecords: '100', batchWait: '20', maxSizeMb: '50',
          urgent: 'alarm/#', deny: 'secret', wires: [['stats'], ['drops']] }, recorder('stats'), recorder('drops')]);
      await waitFor(() => lastStatus('n')?.fill === 'green', 'connected');
      assertClean(await fuzz('n', { commands: ['stats', 'flush'], fields: ['flush'] }, SEED + 3));
      const stats = record('stats');
      await waitFor(async () => {
        receive({ command: 'stats' } as never);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const last = stats.messages[stats.messages.length - 1]?.payload;
        return last !== undefined && last.queued === 0 && last.enqueued > 0;
      }, 'everything stored was delivered', 60_000);
      const last = stats.messages[stats.messages.length - 1].payload;
      assert.equal(last.state, 'connected', 'still connected');
      await waitFor(() => new Set(cloud.envelopes.map((e) => e.id)).size === last.sent, `every record sent (${last.sent}) decoded at the cloud`, 30_000);
      await cloud.close();
      await waitFor(() => lastStatus('n')?.fill === 'green', 'the link badge back after the refusals');
    });
  }

  it('edge-infer', async () => {
    const { dir } = anomalyStore();
    await load([{ id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: dir, file: '', pollInterval: '1' },
      { id: 'n', type: 'edge-infer', model: 'model', mode: 'anomaly', output: '', topK: '3', transform: 'none', threshold: '', nan: 'reject',
        maxBatch: '16', batchWait: '5', concurrency: '1', queueSize: '20000', overflow: 'error', threads: '1', maxValues: '100000', wires: [['out']] }, recorder('out')]);
    await waitFor(() => lastStatus('n')?.text?.includes('@1') === true, 'serving');
    assertClean(await fuzz('n', { commands: [], fields: ['features'] }, SEED + 4));
    const out = record('out');
    receive({ topic: 'after', payload: testZoo().heldOut.x[0] } as never);
    assert.equal(typeof (await messages(out, 1))[0].payload.score, 'number');
  });

  it('edge-sensor (simulator)', async () => {
    await load([{ id: 'n', type: 'edge-sensor', source: 'simulator', topic: 'plant1/line2', interval: '3600', seed: '9', outputMode: 'object',
      channels: [{ name: 'vibration', waveform: 'random-walk', base: '2', amplitude: '0.1', periodS: '', noise: '0.05', drift: '0' }], anomalies: [], wires: [['out']] }, recorder('out')]);
    assertClean(await fuzz('n', { commands: ['poll', 'anomaly'], fields: ['anomaly'] }, SEED + 5));
    const out = record('out');
    receive({} as never);
    assert.equal(typeof (await messages(out, 1))[0].payload.vibration, 'number');
  });

  // its input takes only commands; what it really takes is publishes: the uplink's, fed generated payloads, and
  // hostile ones straight from a client (generated values as JSON, random bytes, compression bombs)
  // as it comes, and restoring order (a record with a hole below it waits in the held table); a fresh ledger each
  for (const holdMs of ['0', '200']) it(`edge-ingest${holdMs === '0' ? '' : ', restoring order'}`, async () => {
    await load([{ id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${broker.port}`, clientId: '', protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true },
      { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: 'edge/${gateway}', gateway: 'fuzz', qos: '1', format: 'columns', durability: 'os', maxRecords: '100', batchWait: '20', wires: [['stats'], []] },
      { id: 'n', type: 'edge-ingest', broker: 'cloud', topic: 'edge/+', qos: '1', window: '100000', holdMs, ledger: `fuzz-hold-${holdMs}`, wires: [['records'], ['events']] },
      recorder('stats'), recorder('records'), recorder('events')]);
    await waitFor(() => lastStatus('n')?.fill === 'green' && lastStatus('up')?.fill === 'green', 'both connected');
    const records = record('records');
    const events = record('events');
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const r = fuzzRandom(SEED + 7);
      const up = (m: object) => (helper.getNode('up') as unknown as { receive(m: object): void }).receive(m);
      for (let i = 0; i < 2_000; i++) up({ topic: 'line/' + (i % 5), payload: anyMessage(r, { commands: [], fields: [] }).payload });
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
      const bomb = Buffer.alloc(MAX_INFLATED_BYTES + 1_048_576, 0x7b);
      const hostile: Buffer[] = [zlib.gzipSync(bomb), zlib.deflateSync(bomb)];
      for (let i = 0; i < 300; i++) {
        let text: string | undefined;
        try {
          text = JSON.stringify(anyValue(r));
        } catch {
          // a value JSON cannot say (BigInt, circular): its bytes are no worse than random ones
        }
        hostile.push(text === undefined ? Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))) : Buffer.from(text));
      }
      for (const payload of hostile) await client.publishAsync('edge/hostile', payload, { qos: 1 });
      await client.endAsync();
      assertClean(await fuzz('n', { commands: ['stats', 'bogus'], fields: [] }, SEED + 8));
      // everything the uplink sent came through once, whatever the hostile publishes did
      const stats = record('stats');
      await waitFor(async () => {
        up({ command: 'stats' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        const last = stats.messages[stats.messages.length - 1]?.payload;
        return last !== undefined && last.queued === 0 && last.enqueued > 0;
      }, 'the uplink drained', 60_000);
      const sent = stats.messages[stats.messages.length - 1].payload.sent;
      const fromUplink = () => records.messages.filter((m) => m.gateway === 'fuzz');
      await waitFor(() => fromUplink().length >= sent, `the ${sent} records the uplink sent, at the ingest's output`, 60_000);
      assert.equal(new Set(fromUplink().map((m) => m.id)).size, sent, 'each once');
      const asked = events.messages.length;
      receive({ command: 'stats' });
      await waitFor(() => events.messages.slice(asked).some((m) => m.topic === 'stats'), 'the ingest statistics');
      const own = events.messages.slice(asked).find((m) => m.topic === 'stats')!.payload;
      assert.equal(own.accepted, records.messages.length, 'the ledger counts what went out');
      assert.ok(own.undecodable >= 2, `the bombs refused (${own.undecodable} undecodable)`);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    assert.deepEqual(uncaught.map((e) => String((e as Error)?.message ?? e).slice(0, 200)), []);
  });

  it('edge-model-update', async () => {
    const { dir, store } = anomalyStore();
    await load([{ id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: dir, file: '', pollInterval: '1' },
      { id: 'n', type: 'edge-model-update', model: 'model', source: 'directory', directory: tempDir('edge-usb-'), interval: '3600', requireSignature: false,
        maxSizeMb: '10', timeout: '10', probation: '5', keep: '3', statusTopic: '', wires: [['reports']] }, recorder('reports')]);
    assertClean(await fuzz('n', { commands: ['check', 'rollback', 'pin', 'status', 'bogus'], fields: ['version', 'artifactBase', 'manifest'] }, SEED + 6));
    assert.equal(store.active('pump-anomaly')?.version, '1', 'the model still serves');
  });
});

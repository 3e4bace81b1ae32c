import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ModelStore } from '../../nodes/core/models/model-store';
import { referenceOutput } from '../../scripts/lib/model-zoo';
import { argmax } from '../../scripts/lib/train';
import { delay, waitFor } from '../../scripts/lib/net-util';
import { errors, helper, lastStatus, load, messages, record, recorder, startServer, statuses, stopServer, translate, watchers } from '../support/red';
import { pumpOperation } from '../../scripts/lib/pump-data';
import { asVersion, model, modelFiles, nanModel, tempDir, testZoo } from '../support/models';

function modelConfig(storeDir: string, extra: object = {}): object {
  return { id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir, file: '', pollInterval: '1', ...extra };
}

function infer(extra: object = {}): object {
  return { id: 'infer', type: 'edge-infer', model: 'model', mode: 'anomaly', output: '', topK: '3', transform: 'none', threshold: '', nan: 'reject',
    maxBatch: '1', batchWait: '10', concurrency: '1', queueSize: '100', overflow: 'drop-oldest', threads: '1', maxValues: '100000',
    wires: [['out']], ...extra };
}

const send = (msg: object) => (helper.getNode('infer') as unknown as { receive(m: object): void }).receive(msg);
const rows = () => testZoo().heldOut.x;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

/** A store with the given model installed and active as version 1. */
function storeWith(name: 'pump-anomaly' | 'pump-classifier' | 'pump-linear'): { dir: string; store: ModelStore } {
  const dir = tempDir();
  const store = ModelStore.shared(dir);
  const m = model(name);
  store.install(m.manifest, m.onnx);
  store.activate(m.name, '1');
  return { dir, store };
}

async function serving(version: string): Promise<void> {
  await waitFor(() => lastStatus('infer')?.text?.includes(`@${version}`) === true, `serving version ${version}`, 10_000);
}

describe('nodes: edge-infer with edge-model', function () {
  before(startServer);
  after(stopServer);
  afterEach(() => helper.unload());

  it('scores the pump feature vector like the JavaScript reference, keeping the message and adding msg.inference', async () => {
    const { dir } = storeWith('pump-anomaly');
    await load([modelConfig(dir), infer(), recorder('out'), ...watchers('infer')]);
    await serving('1');
    const out = record('out');
    const sample = rows().slice(0, 50);
    sample.forEach((row, i) => send({ topic: 'plant1/pump7', payload: row, ts: 1000 + i, quality: 'good' }));
    const got = await messages(out, 50);
    const m = model('pump-anomaly');
    got.forEach((msg, i) => {
      const expected = referenceOutput(m, sample[i])[0];
      assert.ok(close(msg.payload.score, expected), `${msg.payload.score} vs ${expected}`);
      assert.equal(msg.payload.anomaly, expected > m.manifest.threshold!);
      assert.equal(msg.payload.threshold, m.manifest.threshold);
      assert.deepEqual([msg.topic, msg.ts, msg.quality], ['plant1/pump7', 1000 + i, 'good']);
      assert.deepEqual([msg.inference.model, msg.inference.version, msg.inference.batch], ['pump-anomaly', '1', 1]);
      assert.ok(msg.inference.latencyMs > 0 && msg.inference.latencyMs < 1000);
    });
    assert.equal(errors('infer').length, 0);
    assert.match(lastStatus('infer')!.text!, /^pump-anomaly@1/);
  });

  it('classifies with the manifest labels, putting an edge-aggregate feature vector in the model order', async () => {
    const { dir } = storeWith('pump-classifier');
    await load([modelConfig(dir, { model: 'pump-classifier' }), infer({ mode: 'topk', topK: '2' }), recorder('out')]);
    await serving('1');
    const out = record('out');
    const m = model('pump-classifier');
    const names = m.manifest.features!;
    const order = [7, 6, 5, 4, 3, 2, 1, 0]; // the aggregate listed its channels the other way round
    const sample = rows().slice(0, 30);
    for (const row of sample) send({ payload: order.map((i) => row[i]), features: order.map((i) => names[i]) });
    const got = await messages(out, 30);
    got.forEach((msg, i) => {
      const expected = referenceOutput(m, sample[i]);
      assert.equal(msg.payload.length, 2);
      assert.equal(msg.payload[0].index, argmax(expected));
      assert.equal(msg.payload[0].label, m.manifest.labels![argmax(expected)]);
      assert.ok(msg.payload[0].score >= msg.payload[1].score);
    });
  });

  it('raw outputs of an ai.onnx.ml model: int64 labels as numbers, probabilities as arrays; batches as rows', async () => {
    const { dir } = storeWith('pump-linear');
    await load([modelConfig(dir, { model: 'pump-linear' }), infer({ mode: 'raw' }), recorder('out')]);
    await serving('1');
    const out = record('out');
    const m = model('pump-linear');
    send({ payload: rows()[0] });
    send({ payload: rows().slice(1, 4) });
    const [one, batch] = await messages(out, 2);
    const expected = referenceOutput(m, rows()[0]);
    assert.equal(one.payload.label, argmax(expected));
    assert.ok(one.payload.probabilities.every((p: number, i: number) => close(p, expected[i])));
    assert.equal(batch.payload.label.length, 3);
    assert.deepEqual(batch.payload.label, rows().slice(1, 4).map((r) => argmax(referenceOutput(m, r))));
    assert.equal(batch.payload.probabilities.length, 3);
  });

  it('micro-batches a burst: every message gets its own result, in order', async () => {
    const { dir } = storeWith('pump-anomaly');
    await load([modelConfig(dir), infer({ maxBatch: '16', batchWait: '20' }), recorder('out')]);
    await serving('1');
    const out = record('out');
    const sample = rows().slice(0, 64);
    sample.forEach((row, i) => send({ payload: row, seq: i }));
    const got = await messages(out, 64);
    assert.deepEqual(got.map((m) => m.seq), sample.map((_, i) => i));
    got.forEach((msg, i) => assert.ok(close(msg.payload.score, referenceOutput(model('pump-anomaly'), sample[i])[0])));
    assert.ok(got.some((m) => m.inference.batch > 1), 'runs were shared');
  });

  it('bad input: a clear error to Catch, a red status, done() for every message, and the node keeps serving', async () => {
    const { dir } = storeWith('pump-anomaly');
    await load([modelConfig(dir), infer(), recorder('out'), ...watchers('infer')]);
    await serving('1');
    const out = record('out');
    const caught = record('infer-caught');
    const completed = record('infer-completed');
    for (const payload of [[1, 2, 3], 'text', { 'vibration.mean': 1 }, [1, 2, 3, 4, 5, 6, 7, NaN], new Array(200_000).fill(1)]) send({ payload });
    send({ payload: rows()[0] });
    await messages(out, 1);
    const errs = await messages(caught, 5);
    // Node-RED puts the error's name before a done(err) message
    assert.deepEqual(errs.map((m) => m.error.message.replace(/^Error: /, '')), [
      'input "features" expects shape [batch, 8], received [3]',
      'the payload must be a numeric array or an object, got the text "text"',
      'missing feature(s): vibration.stddev, temperature.mean, temperature.stddev, pressure.mean, pressure.stddev, … (7 in all)',
      'input "features" element 7 is NaN; NaN and infinite values are rejected',
      'input "features" has 200000 values, more than the limit of 100000',
    ]);
    await messages(completed, 1);
    assert.ok(statuses('infer').some((s) => s.fill === 'red' && s.text === translate('edge-infer.status.badInput')));
  });

  it('hot swap under a continuous stream: zero lost, versions in order, every answer right for its version', async () => {
    const { dir, store } = storeWith('pump-anomaly');
    await load([modelConfig(dir), infer({ maxBatch: '4', concurrency: '2' }), recorder('out')]);
    await serving('1');
    const out = record('out');
    const m = model('pump-anomaly');
    // version 2: the same detector; version 3: another model under the same name (the classifier's first output
    // is not a single score, so a raw-output check is used below)
    store.install(asVersion(m, '2').manifest, m.onnx);
    const sample = rows()[3];
    let sent = 0;
    const timer = setInterval(() => {
      for (let i = 0; i < 5; i++) send({ payload: sample, seq: sent++ });
    }, 2);
    await delay(100);
    store.activate('pump-anomaly', '2');
    await serving('2');
    await delay(100);
    store.activate('pump-anomaly', '1');
    await serving('1');
    await delay(100);
    clearInterval(timer);
    const got = await messages(out, sent, `all ${sent} messages`);
    assert.deepEqual(got.map((g) => g.seq), Array.from({ length: sent }, (_, i) => i), 'none lost, none reordered');
    const versions = got.map((g) => g.inference.version);
    const runs = versions.filter((v, i) => i === 0 || v !== versions[i - 1]);
    assert.deepEqual(runs, ['1', '2', '1'], 'each switch happens once');
    const expected = referenceOutput(m, sample)[0];
    assert.ok(got.every((g) => close(g.payload.score, expected)));
  });

  it('a corrupt new version is refused, marked bad, and the old one keeps serving', async () => {
    const { dir, store } = storeWith('pump-anomaly');
    await load([modelConfig(dir), infer(), recorder('out'), ...watchers('infer')]);
    await serving('1');
    const m = model('pump-anomaly');
    const v2 = store.install(asVersion(m, '2').manifest, m.onnx);
    const bytes = fs.readFileSync(v2.file);
    bytes[bytes.length - 3] ^= 0xff; // a flipped byte on disk
    fs.writeFileSync(v2.file, bytes);
    store.activate('pump-anomaly', '2');
    await waitFor(() => errors('infer').length > 0, 'the refusal');
    assert.match(errors('infer')[0][0], /^version 2 was refused \(model file .* is corrupt: its sha256 is [0-9a-f]{12}…, the manifest says [0-9a-f]{12}…\); still serving version 1$/);
    assert.match(store.versions('pump-anomaly').find((v) => v.version === '2')!.bad!, /is corrupt/);
    assert.equal(store.active('pump-anomaly')!.version, '1', 'readers fall back to the good version');
    const out = record('out');
    send({ payload: rows()[0] });
    const [msg] = await messages(out, 1);
    assert.equal(msg.inference.version, '1');
  });

  it('a plain .onnx file with a manifest beside it', async () => {
    const file = path.join(modelFiles(), 'pump-classifier.onnx');
    await load([modelConfig('', { source: 'file', file, model: '' }), infer({ mode: 'classify' }), recorder('out')]);
    await serving('1');
    const out = record('out');
    send({ payload: rows()[0] });
    const [msg] = await messages(out, 1);
    assert.equal(msg.payload.label, model('pump-classifier').manifest.labels![argmax(referenceOutput(model('pump-classifier'), rows()[0]))]);
    assert.deepEqual([msg.inference.model, msg.inference.version], ['pump-classifier', '1']);
  });

  it('reports configuration problems at deploy in words, and refuses messages until fixed', async () => {
    const { dir } = storeWith('pump-anomaly');
    const cases: Array<[object, object, string]> = [
      [modelConfig(dir, { model: '../etc' }), infer(), translate('edge-model.errors.name', { name: '../etc' })],
      [modelConfig(dir), infer({ threads: '0', queueSize: '2', maxBatch: '8' }),
        [translate('edge-infer.errors.threads'), translate('edge-infer.errors.queueSize')].join('; ')],
      [modelConfig('', { source: 'file', file: '' }), infer(), translate('edge-model.errors.file')],
    ];
    for (const [modelNode, inferNode, problem] of cases) {
      await load([modelNode, inferNode, recorder('out'), ...watchers('infer')]);
      const caught = record('infer-caught');
      assert.ok(errors('infer').some(([text]) => text === translate('edge-infer.errors.config', { problems: problem })), problem);
      assert.equal(lastStatus('infer')!.text, translate('edge-infer.status.config'));
      send({ payload: [1] });
      const [err] = await messages(caught, 1);
      assert.equal(err.error.message, `Error: ${translate('edge-infer.errors.notConfigured')}`);
      await helper.unload();
    }
    // anomaly mode on a model without a threshold: refused on load, but not the model's fault (not marked bad)
    const { dir: d2, store } = storeWith('pump-classifier');
    await load([modelConfig(d2, { model: 'pump-classifier' }), infer({ mode: 'anomaly' }), recorder('out')]);
    await waitFor(() => errors('infer').length > 0, 'the load error');
    assert.equal(errors('infer')[0][0], translate('edge-infer.errors.load', { version: '1', error: 'anomaly mode needs a threshold: set one in the node or in the model manifest' }));
    assert.equal(store.versions('pump-classifier')[0].bad, undefined);
  });

  it('a slow consumer cannot grow memory: the queue drops by policy and counts it', async () => {
    const { dir } = storeWith('pump-classifier');
    await load([modelConfig(dir, { model: 'pump-classifier' }), infer({ mode: 'classify', queueSize: '5', overflow: 'drop-oldest' }), recorder('out'), ...watchers('infer')]);
    await serving('1');
    const out = record('out');
    const completed = record('infer-completed');
    for (let i = 0; i < 2000; i++) send({ payload: rows()[i % 100], seq: i });
    await messages(completed, 2000, 'done() for every message');
    const delivered = out.messages.length;
    assert.ok(delivered < 2000, `${delivered} delivered`);
    assert.equal(out.messages[out.messages.length - 1].seq, 1999, 'the newest survives drop-oldest');
    const dropped = 2000 - delivered;
    assert.equal(out.messages[out.messages.length - 1].inference.dropped, dropped, 'the drops so far, on each result');
    // the version and the drops when both fit the status, else the drops alone: a loss the user must see
    await waitFor(() => lastStatus('infer')?.text?.endsWith(translate('edge-infer.status.dropped', { count: dropped })) === true, `the status "${dropped} dropped"`);
    assert.equal(lastStatus('infer')!.fill, 'yellow');
  });
  it('a model that answers NaN for real inputs: each such message is an error with a red status, never a "normal" verdict', async () => {
    const dir = tempDir();
    const store = ModelStore.shared(dir);
    const m = nanModel('1');
    store.install(m.manifest, m.onnx);
    store.activate(m.manifest.name, '1');
    await load([modelConfig(dir), infer(), recorder('out'), ...watchers('infer')]);
    await serving('1');
    const out = record('out');
    const caught = record('infer-caught');
    for (const row of rows().slice(0, 5)) send({ payload: row });
    const errs = await messages(caught, 5, 'an error per message');
    assert.ok(errs.every((e) => /answered NaN or infinity/.test(e.error.message)), errs.map((e) => e.error.message).join('\n'));
    assert.equal(out.messages.length, 0, 'no verdict was sent');
    await waitFor(() => lastStatus('infer')?.fill === 'red', 'a red status');
  });
  it('watches input drift: a level change goes to the second output (topic <model>/drift, payload.drifting), the status names the feature', async () => {
    const { dir } = storeWith('pump-anomaly');
    await load([modelConfig(dir), infer({ drift: 'samples', driftWindow: '20', explain: 'deviation', wires: [['out'], ['drift']] }),
      recorder('out'), recorder('drift'), ...watchers('infer')]);
    await serving('1');
    const out = record('out');
    const drift = record('drift');
    // vector 24 is inside the first bearing episode: 20 of it are a window far from training
    const bearing = pumpOperation(5, 0.1)[24];
    for (let i = 0; i < 20; i++) send({ payload: bearing });
    const got = await messages(out, 20);
    const [event] = await messages(drift, 1);
    assert.equal(event.topic, 'pump-anomaly/drift');
    assert.deepEqual([event.payload.level, event.payload.drifting, event.payload.model, event.payload.version, event.payload.samples], ['drift', true, 'pump-anomaly', '1', 20]);
    assert.equal(typeof event.payload.features['vibration.mean'].psi, 'number');
    assert.equal(got[19].inference.drift.level, 'drift');
    assert.equal(got[0].inference.drift.level, 'pending');
    assert.equal(got[0].inference.explain[0].feature, 'vibration.mean');
    await waitFor(() => lastStatus('infer')?.text?.includes('drift') === true, 'drift in the status', 5000);
    assert.equal(drift.messages.length, 1);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { ModelStore } from '../../nodes/core/models/model-store';
import { decodeModel, encodeModel } from '../../scripts/lib/onnx-graph';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { freePort, waitFor } from '../../scripts/lib/net-util';
import { makeKeyPair, packageModel, RegistryServer } from '../../scripts/lib/registry';
import { errors, helper, lastStatus, load, messages, record, recorder, runtimeWithStateDir, watchers } from '../support/red';
import { failingModel, model, tempDir, testZoo } from '../support/models';
import { rolloutPosition } from '../../nodes/core/updates/rollout';

const key = makeKeyPair('fleet-2026');

/** The anomaly model with other bytes (another producer name): a new version that computes the same. */
function rebuilt(tag: string): Uint8Array {
  const proto = decodeModel(model('pump-anomaly').onnx);
  proto.producerVersion = tag;
  return encodeModel(proto);
}

function storeWithV1(): { dir: string; store: ModelStore } {
  const dir = tempDir();
  const store = ModelStore.shared(dir);
  const m = model('pump-anomaly');
  store.install({ ...m.manifest, version: '1' }, m.onnx);
  store.activate('pump-anomaly', '1');
  return { dir, store };
}

const modelConfig = (storeDir: string) => ({ id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir, file: '', pollInterval: '1' });
const infer = () => ({ id: 'infer', type: 'edge-infer', model: 'model', mode: 'anomaly', output: '', topK: '3', transform: 'none', threshold: '', nan: 'reject',
  maxBatch: '1', batchWait: '10', concurrency: '1', queueSize: '10000', overflow: 'error', threads: '1', maxValues: '100000', wires: [['out']] });
const updater = (extra: object = {}) => ({ id: 'update', type: 'edge-model-update', model: 'model', source: 'http', url: '', interval: '1', broker: '',
  topic: '', artifactBase: '', directory: '', keysFile: '', requireSignature: true, maxSizeMb: '10', timeout: '10', probation: '5', keep: '3',
  statusTopic: '', wires: [['reports']], ...extra });

describe('nodes: edge-model-update', function () {
  this.timeout(60_000);
  const stateDir = runtimeWithStateDir('edge-update-state-');
  let registry: RegistryServer;
  let registryDir: string;
  beforeEach(async () => {
    registryDir = tempDir('edge-registry-');
    registry = new RegistryServer(registryDir);
    await registry.start();
  });
  afterEach(async () => {
    await helper.unload();
    await registry.stop();
    // each test its own updater history (the highest version seen)
    fs.rmSync(path.join(stateDir, 'model-update'), { recursive: true, force: true });
  });

  const publish = (version: string, onnx: Uint8Array, manifest: Parameters<typeof packageModel>[0]['manifest'] = model('pump-anomaly').manifest) =>
    packageModel({ registry: registryDir, manifest: { ...manifest, version }, onnx, key });
  const manifestUrl = () => `${registry.url}/pump-anomaly/manifest.json`;
  const send = (msg: object) => (helper.getNode('infer') as unknown as { receive(m: object): void }).receive(msg);

  it('polls an HTTP registry and swaps a verified version in while edge-infer serves on: no message lost', async () => {
    const { dir, store } = storeWithV1();
    await load([modelConfig(dir), infer(), recorder('out'), updater({ url: manifestUrl() }), recorder('reports'), ...watchers('infer')], { update: { trustedKeys: key.trustLine } });
    const out = record('out');
    const reports = record('reports');
    await waitFor(() => lastStatus('infer')?.text?.includes('@1') === true, 'serving 1');
    // a steady stream while version 2 is published, found, verified and swapped in
    const rows = testZoo().heldOut.x;
    let sent = 0;
    const stream = setInterval(() => send({ payload: rows[sent++ % rows.length] }), 5);
    await waitFor(() => sent > 50, 'the stream under way');
    publish('2', rebuilt('v2'));
    await waitFor(() => reports.messages.some((m) => m.payload.state === 'active'), 'version 2 active', 20_000);
    await waitFor(() => out.messages.some((m) => m.inference.version === '2'), 'served by 2', 10_000);
    const more = sent + 50;
    await waitFor(() => sent >= more, 'the stream goes on');
    clearInterval(stream);
    await messages(out, sent, `all ${sent} results`);
    assert.equal(out.messages.length, sent, 'every message has its result');
    assert.deepEqual(record('infer-caught').messages, [], 'no errors');
    const versions = out.messages.map((m) => m.inference.version);
    const firstTwo = versions.indexOf('2');
    assert.ok(firstTwo > 0 && versions.slice(0, firstTwo).every((v) => v === '1') && versions.slice(firstTwo).every((v) => v === '2'), 'outputs switch from 1 to 2 once');
    // five clean runs on probation confirm it
    // the first report says what was served before any check; each names the version served and says it in words
    assert.deepEqual(reports.messages.map((m) => m.payload.state).filter((s) => s !== 'downloading'), ['serving', 'verifying', 'health-check', 'active', 'confirmed']);
    const byState = new Map(reports.messages.map((m) => [m.payload.state, m.payload]));
    assert.deepEqual([byState.get('serving').version, byState.get('serving').active, byState.get('serving').text], ['1', '1', 'serving 1']);
    assert.deepEqual([byState.get('verifying').active, byState.get('confirmed').active, byState.get('confirmed').text], ['1', '2', 'confirmed · 2']);
    assert.equal(store.active('pump-anomaly')!.version, '2');
    await waitFor(() => lastStatus('update')?.text === 'confirmed · 2', 'the status');
  });

  it('takes a manifest pushed over MQTT (retained), and reports its state to a retained status topic', async () => {
    const broker: EmbeddedBroker = await startAedes(await freePort());
    try {
      const { dir, store } = storeWithV1();
      const signed = publish('2', rebuilt('v2'));
      // a slow link that drops the first download part-way: resumed, then verified
      registry.faults = { rate: 20_000, dropAfter: 300, drops: 1 };
      const cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
      await cloud.publishAsync('fleet/models/pump-anomaly', JSON.stringify(signed), { qos: 1, retain: true });
      await load([
        modelConfig(dir),
        { id: 'mqtt', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${broker.port}`, clientId: '', protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true },
        updater({ source: 'mqtt', broker: 'mqtt', topic: 'fleet/models/pump-anomaly', artifactBase: `${registry.url}/pump-anomaly/`, statusTopic: 'fleet/site1/gw1/model/pump-anomaly' }),
        recorder('reports'),
      ], { update: { trustedKeys: key.trustLine } });
      const reports = record('reports');
      await waitFor(() => reports.messages.some((m) => m.payload.state === 'active'), 'version 2 active from the push', 20_000);
      assert.equal(store.active('pump-anomaly')!.version, '2');
      assert.deepEqual(registry.log.filter((l) => l.path.endsWith('.onnx')).map((l) => [l.status, l.range]), [[200, undefined], [206, 'bytes=300-']], 'dropped once, resumed with a range');
      const seen: Array<{ state: string; version: string }> = [];
      cloud.on('message', (_t, p) => seen.push(JSON.parse(p.toString())));
      await cloud.subscribeAsync('fleet/site1/gw1/model/#', { qos: 1 });
      await waitFor(() => seen.some((s) => s.state === 'active' && s.version === '2'), 'the retained status');
      await cloud.endAsync();
    } finally {
      await helper.unload();
      await broker.close();
    }
  });

  it('rolls a version back when it fails at run time, and edge-infer goes on with the previous one', async () => {
    const { dir, store } = storeWithV1();
    await load([modelConfig(dir), infer(), recorder('out'), updater({ url: manifestUrl(), probation: '20' }), recorder('reports'), ...watchers('infer')], { update: { trustedKeys: key.trustLine } });
    const out = record('out');
    const reports = record('reports');
    await waitFor(() => lastStatus('infer')?.text?.includes('@1') === true, 'serving 1');
    const bad = failingModel('2');
    packageModel({ registry: registryDir, manifest: bad.manifest, onnx: bad.onnx, key });
    await waitFor(() => reports.messages.some((m) => m.payload.state === 'active'), 'version 2 active (it passes a neutral warm-up)', 20_000);
    await waitFor(() => lastStatus('infer')?.text?.includes('@2') === true, 'edge-infer on 2');
    // real readings make version 2 fail
    const caught = record('infer-caught');
    const rows = testZoo().heldOut.x;
    for (let i = 0; i < 5; i++) send({ payload: rows[i] });
    await waitFor(() => reports.messages.some((m) => m.payload.state === 'rolled-back'), 'rolled back', 10_000);
    const back = reports.messages.find((m) => m.payload.state === 'rolled-back')!.payload;
    assert.deepEqual([back.version, back.previous, back.code], ['2', '1', 'run-failed']);
    assert.equal(store.active('pump-anomaly')!.version, '1');
    await waitFor(() => lastStatus('infer')?.text?.includes('@1') === true, 'edge-infer back on 1');
    assert.ok(caught.messages.length >= 1, 'the failing runs reached Catch');
    assert.match(caught.messages[0].error.message, /indices|out of (data )?bounds|Gather/i);
    const before = out.messages.length;
    for (let i = 0; i < 10; i++) send({ payload: rows[i] });
    await messages(out, before + 10, 'served by 1 again');
    assert.ok(out.messages.slice(before).every((m) => m.inference.version === '1'));
    // the registry still offers 2: it is bad now, and not taken again
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(store.active('pump-anomaly')!.version, '1');
  });

  it('sideloads from a directory, refuses a tampered manifest with the reason on the output, and obeys rollback and pin', async () => {
    const { dir, store } = storeWithV1();
    const usb = tempDir('edge-usb-');
    const signed = packageModel({ registry: usb, manifest: { ...model('pump-anomaly').manifest, version: '3' }, onnx: rebuilt('v3'), key });
    // tampered on the stick: the threshold raised after signing
    fs.writeFileSync(path.join(usb, 'pump-anomaly', 'manifest.json'), JSON.stringify({ ...signed, manifest: { ...signed.manifest, threshold: 1e9 } }));
    await load([modelConfig(dir), updater({ source: 'directory', directory: usb, interval: '1' }), recorder('reports'), ...watchers('update')], { update: { trustedKeys: key.trustLine } });
    const reports = record('reports');
    await waitFor(() => reports.messages.some((m) => m.payload.state === 'rejected'), 'refused', 10_000);
    const refused = reports.messages.find((m) => m.payload.state === 'rejected')!.payload;
    assert.equal(refused.code, 'bad-signature');
    assert.match(refused.reason, /the signature does not match the manifest \(key "fleet-2026"\)/);
    await waitFor(() => lastStatus('update')?.fill === 'red', 'shown in red');
    assert.equal(store.active('pump-anomaly')!.version, '1');
    // the genuine file: taken
    fs.writeFileSync(path.join(usb, 'pump-anomaly', 'manifest.json'), JSON.stringify(signed));
    await waitFor(() => store.active('pump-anomaly')?.version === '3', 'version 3 from the stick', 10_000);
    const node = helper.getNode('update') as unknown as { receive(m: object): void };
    node.receive({ command: 'rollback' });
    await waitFor(() => store.active('pump-anomaly')?.version === '1', 'rolled back by the operator');
    node.receive({ command: 'pin' });
    const [err] = await messages(record('update-caught'), 1);
    assert.match(err.error.message, /pin needs msg\.version/);
    node.receive({ command: 'pin', version: '3' });
    await waitFor(() => store.active('pump-anomaly')?.version === '3', 'pinned to 3');
  });

  /** A steady stream into edge-infer until `until` holds; every message sent is counted. */
  async function streamUntil(until: () => boolean, what: string): Promise<number> {
    const rows = testZoo().heldOut.x;
    let sent = 0;
    const stream = setInterval(() => send({ payload: rows[sent++ % rows.length] }), 5);
    try {
      await waitFor(until, what, 30_000);
    } finally {
      clearInterval(stream);
    }
    return sent;
  }

  it('runs a new version in shadow on the live inputs and activates it after its gate: no message lost, none doubled', async () => {
    const { dir, store } = storeWithV1();
    await load([modelConfig(dir), infer(), recorder('out'), updater({ url: manifestUrl(), shadow: 'on', shadowSamples: '60' }), recorder('reports'), ...watchers('infer')],
      { update: { trustedKeys: key.trustLine } });
    const out = record('out');
    const reports = record('reports');
    await waitFor(() => lastStatus('infer')?.text?.includes('@1') === true, 'serving 1');
    publish('2', rebuilt('v2'));
    const sent = await streamUntil(() => reports.messages.some((m) => m.payload.state === 'confirmed'), 'served by 2 after its shadow, and confirmed');
    await messages(out, sent, `all ${sent} results`);
    assert.equal(out.messages.length, sent, 'one result per message: the shadow sent nothing on');
    assert.equal(new Set(out.messages.map((m) => m._msgid)).size, sent, 'no message twice');
    assert.deepEqual(record('infer-caught').messages, [], 'no errors');
    const states = reports.messages.map((m) => m.payload.state).filter((s) => s !== 'downloading');
    assert.deepEqual(states.filter((s) => s !== 'shadow'), ['serving', 'verifying', 'health-check', 'active', 'confirmed']);
    assert.ok(states.indexOf('shadow') < states.indexOf('active'), 'in shadow before active');
    const active = reports.messages.find((m) => m.payload.state === 'active')!.payload;
    assert.ok(active.shadow.samples >= 60, `the gate's samples (${active.shadow.samples})`);
    assert.deepEqual([active.shadow.agreement, active.shadow.failures, active.shadow.gate.agreement], [1, 0, 0.95], 'the same computation: full agreement');
    assert.equal(active.shadow.activeAnomalyRate, active.shadow.candidateAnomalyRate);
    const versions = out.messages.map((m) => m.inference.version);
    const first = versions.indexOf('2');
    assert.ok(first >= 60 && versions.slice(0, first).every((v) => v === '1') && versions.slice(first).every((v) => v === '2'), 'served by 1 throughout the shadow');
    assert.equal(store.active('pump-anomaly')!.version, '2');
  });

  it('rejects a candidate that disagrees after its shadow, with the figures; the active version never stopped', async () => {
    const { dir, store } = storeWithV1();
    await load([modelConfig(dir), infer(), recorder('out'), updater({ url: manifestUrl() }), recorder('reports'), ...watchers('infer')],
      { update: { trustedKeys: key.trustLine } });
    const out = record('out');
    const reports = record('reports');
    await waitFor(() => lastStatus('infer')?.text?.includes('@1') === true, 'serving 1');
    // the node leaves shadow off: the signed manifest asks for one; its threshold flags everything
    publish('2', rebuilt('v2'), { ...model('pump-anomaly').manifest, threshold: -1e9, shadow: { samples: 40 } });
    const sent = await streamUntil(() => reports.messages.some((m) => m.payload.state === 'rejected'), 'rejected after its shadow');
    await messages(out, sent, `all ${sent} results`);
    const rejected = reports.messages.find((m) => m.payload.state === 'rejected')!.payload;
    assert.deepEqual([rejected.version, rejected.code, rejected.active, rejected.shadow.candidateAnomalyRate, rejected.shadow.failures], ['2', 'shadow-gate', '1', 1, 0]);
    assert.ok(rejected.shadow.samples >= 40);
    assert.ok(rejected.shadow.agreement < 0.95 && rejected.shadow.agreement === rejected.shadow.activeAnomalyRate, 'agrees only where 1 flags too');
    assert.match(rejected.reason, /^shadow gate: agreement \d+(\.\d)? % is below 95 % over \d+ samples; anomaly rate 100 % against /);
    assert.equal(out.messages.length, sent);
    assert.ok(out.messages.every((m) => m.inference.version === '1'), 'every result from 1');
    assert.equal(store.active('pump-anomaly')!.version, '1');
    assert.match(store.version('pump-anomaly', '2')!.bad!, /shadow gate/);
    await waitFor(() => lastStatus('update')?.text === 'rejected 2', 'the status');
  });

  it('takes a staged rollout only under its share, and every report names the gateway', async () => {
    const { dir, store } = storeWithV1();
    const position = rolloutPosition('site7-gw3', 'pump-anomaly');
    await load([modelConfig(dir), updater({ url: manifestUrl(), gateway: 'site7-gw3' }), recorder('reports')], { update: { trustedKeys: key.trustLine } });
    const reports = record('reports');
    publish('2', rebuilt('v2'), { ...model('pump-anomaly').manifest, rollout: { share: position / 2 } });
    await waitFor(() => reports.messages.some((m) => m.payload.state === 'held'), 'held outside the share', 10_000);
    const held = reports.messages.find((m) => m.payload.state === 'held')!.payload;
    assert.deepEqual([held.code, held.gateway, held.rollout], ['rollout', 'site7-gw3', { share: position / 2, position }]);
    await waitFor(() => lastStatus('update')?.text === '2 held (rollout)', 'the status');
    publish('2', rebuilt('v2'), { ...model('pump-anomaly').manifest, rollout: { share: Math.min(1, position + 0.05) } });
    await waitFor(() => reports.messages.some((m) => m.payload.state === 'active'), 'taken when the share is raised', 10_000);
    assert.ok(reports.messages.every((m) => m.payload.gateway === 'site7-gw3'));
    assert.equal(store.active('pump-anomaly')!.version, '2');
  });

  it('reports configuration problems at deploy in words', async () => {
    await load([modelConfig(tempDir()), updater({ url: 'ftp://example' }), recorder('reports')], { update: { trustedKeys: 'k1 not-base64!' } });
    await waitFor(() => lastStatus('update')?.fill === 'red', 'config error shown');
    assert.match(errors('update')[0][0], /^edge-model-update configuration is not usable: a trusted key cannot be read \(line 1: .+\); the manifest URL must start with http:\/\/ or https:\/\/$/);
  });
});

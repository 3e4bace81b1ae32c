import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { installedUserDir, installedFiles, PACKAGE, SETUP_TIMEOUT_MS } from '../support/installed';
import { startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { PumpDevice, PUMP_POINTS } from '../../scripts/lib/pump';
import { freePort, waitFor } from '../../scripts/lib/net-util';
import { ModelStore } from '../../nodes/core/models/model-store';
import { asVersion, model } from '../support/models';

const TYPES = ['edge-sensor', 'edge-filter', 'edge-aggregate', 'edge-infer', 'edge-alarm', 'edge-uplink', 'edge-model-update', 'edge-ingest', 'edge-mqtt-broker', 'edge-modbus-device', 'edge-model'];
/** the nodes shown in the palette, each with its own icon */
const FLOW_TYPES = ['edge-sensor', 'edge-filter', 'edge-aggregate', 'edge-infer', 'edge-alarm', 'edge-uplink', 'edge-model-update', 'edge-ingest'];

interface NodeSet { id: string; module: string; types: string[]; enabled: boolean; err?: string }

describe('e2e: the packed package in a Node-RED process', function () {
  this.timeout(240_000);
  let userDir: string;
  let red: NodeRedProcess;
  let broker: EmbeddedBroker;
  let pump: PumpDevice;
  const log = () => fs.readFileSync(path.join(userDir, 'node-red.log'), 'utf8');

  before(async function () {
    this.timeout(SETUP_TIMEOUT_MS);
    userDir = await installedUserDir();
    broker = await startAedes(await freePort());
    // registers refreshed once an hour: a poll reads the holding and input blocks in two requests, which must agree
    pump = new PumpDevice(3, 3_600_000);
    await pump.start(await freePort());
    red = await startNodeRed({ userDir, port: await freePort(), output: path.join(userDir, 'node-red.log'), flows: [] });
  });

  after(async () => {
    await red?.stop();
    await pump?.stop();
    await broker?.close();
  });

  it('ships the compiled nodes, their editor files, locales, icons and examples, and no sources or tests', () => {
    const files = installedFiles(userDir);
    for (const type of TYPES) {
      for (const f of [`${type}.js`, `${type}.html`, `locales/en-US/${type}.json`, `locales/en-US/${type}.html`]) {
        assert.ok(files.includes(`dist/${type}/${f}`), `dist/${type}/${f} is packed`);
      }
    }
    for (const type of FLOW_TYPES) assert.ok(files.includes(`dist/${type}/icons/${type}.svg`), `${type} icon packed`);
    assert.ok(files.includes('examples/edge-sensor-sources.json') && files.includes('examples/edge-filter-aggregate.json'));
    assert.ok(files.includes('LICENSE') && files.includes('README.md'));
    assert.deepEqual(files.filter((f) => /\.ts$|^test\/|^scripts\/|^bench\/|^build\//.test(f)), []);
    // nothing of ours runs at install: no build on the user's machine, nothing for npm to ask about
    const manifest = JSON.parse(fs.readFileSync(path.join(userDir, 'node_modules', PACKAGE, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    assert.deepEqual(Object.keys(manifest.scripts ?? {}).filter((s) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(s)), []);
  });

  it('registers every node type of the package, enabled and without errors', async () => {
    const sets = await red.api<NodeSet[]>('GET', '/nodes');
    const ours = sets.filter((s) => s.module === PACKAGE);
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...TYPES].sort());
    for (const s of ours) {
      assert.equal(s.err, undefined, `${s.id}: ${s.err}`);
      assert.equal(s.enabled, true, `${s.id} enabled`);
    }
    assert.doesNotMatch(log(), /\[edge-[a-z-]+\].*(error|failed)/i);
  });

  it('serves the node icon and the editor definitions', async () => {
    const icons = await red.api<Record<string, string[]>>('GET', '/icons');
    assert.deepEqual([...icons[PACKAGE]].sort(), FLOW_TYPES.map((t) => `${t}.svg`).sort());
    for (const type of FLOW_TYPES) {
      const svg = await fetch(`${red.url}/icons/${PACKAGE}/${type}.svg`);
      assert.equal(svg.status, 200);
      assert.match(await svg.text(), /^<svg/);
    }
    const html = await red.api<string>('GET', '/nodes', undefined, { Accept: 'text/html' });
    for (const type of TYPES) {
      assert.match(html, new RegExp(`registerType\\('${type}'`));
      assert.match(html, new RegExp(`data-help-name="${type}"`));
    }
    const messages = await red.api<Record<string, unknown>>('GET', `/nodes/messages?lng=en-US`);
    assert.ok(Object.keys(messages).some((k) => k.startsWith(`${PACKAGE}/edge-sensor`)), 'the locale catalogue is served');
  });

  it('offers the example flows in the Import menu', async () => {
    const modules = await red.api<string[]>('GET', '/library/examples/flows/');
    assert.ok(modules.includes(PACKAGE), `examples of ${modules.join(', ')}`);
    const listing = await red.api<unknown>('GET', `/library/examples/flows/${PACKAGE}`);
    assert.match(JSON.stringify(listing), /"edge-sensor-sources"/);
    assert.match(JSON.stringify(listing), /"edge-filter-aggregate"/);
    assert.match(JSON.stringify(listing), /"edge-alarm-dashboard"/);
    assert.match(JSON.stringify(listing), /"edge-uplink-cloud"/);
    assert.match(JSON.stringify(listing), /"edge-model-update"/);
    const flow = await red.api<unknown[]>('GET', `/library/examples/flows/${PACKAGE}/edge-sensor-sources`);
    assert.ok(Array.isArray(flow) && flow.length > 5);
  });

  it('runs a deployed flow: Modbus and simulator readings reach an MQTT subscriber with the contract', async () => {
    const subscriber = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`);
    const got: Array<{ topic: string; body: Record<string, unknown> }> = [];
    subscriber.on('message', (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) }));
    await subscriber.subscribeAsync('e2e/#', { qos: 1 });
    try {
      await red.deploy([
        { id: 'tab', type: 'tab', label: 'e2e' },
        { id: 'dev', type: 'edge-modbus-device', transport: 'tcp', host: '127.0.0.1', port: pump.device.port, unitId: 1, timeout: 2000 },
        { id: 'core-broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(broker.port), protocolVersion: '4', keepalive: '60', cleansession: true },
        { id: 'modbus', type: 'edge-sensor', z: 'tab', source: 'modbus', device: 'dev', topic: 'e2e/pump', interval: 0.2, outputMode: 'object', onFailure: 'quality', points: PUMP_POINTS, x: 100, y: 40, wires: [['json']] },
        { id: 'sim', type: 'edge-sensor', z: 'tab', source: 'simulator', topic: 'e2e/sim', interval: 0.2, seed: 1, outputMode: 'object',
          channels: [{ name: 'flow', waveform: 'constant', base: 120, amplitude: 0, periodS: 60, noise: 0, drift: 0 }], anomalies: [], x: 100, y: 80, wires: [['json']] },
        // the whole message (ts and quality included) as the MQTT payload
        { id: 'json', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"payload": payload, "ts": ts, "quality": quality, "units": units}', tot: 'jsonata' }], x: 300, y: 60, wires: [['out']] },
        { id: 'out', type: 'mqtt out', z: 'tab', broker: 'core-broker', topic: '', qos: '1', retain: 'false', x: 500, y: 60, wires: [] },
      ]);
      await waitFor(() => got.some((m) => m.topic === 'e2e/pump') && got.some((m) => m.topic === 'e2e/sim'), 'readings from both sensors', 20_000);
      const pumpReading = got.find((m) => m.topic === 'e2e/pump')!.body;
      assert.equal(pumpReading.quality, 'good');
      assert.deepEqual(Object.keys(pumpReading.payload as object), PUMP_POINTS.map((p) => p.name));
      const p = pumpReading.payload as Record<string, number>;
      assert.ok(p.temperature > 40 && p.temperature < 90, `temperature ${p.temperature}`);
      assert.ok(Math.abs(p.temperature - p.temperature_x10) <= 0.0501, 'float32 and scaled int16 registers agree');
      assert.equal((pumpReading.units as Record<string, string>).temperature, '°C');
      assert.equal(typeof pumpReading.ts, 'number');
      assert.deepEqual(got.find((m) => m.topic === 'e2e/sim')!.body.payload, { flow: 120 });
    } finally {
      await subscriber.endAsync(true);
    }
  });

  it('runs the anomaly model from the user dir\'s model store on live pump features, and hot-swaps a new version', async () => {
    const store = new ModelStore(path.join(userDir, 'edge-intelligence', 'models'));
    const m = model('pump-anomaly');
    store.install(m.manifest, m.onnx);
    store.activate('pump-anomaly', '1');
    const subscriber = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    const got: Array<Record<string, any>> = [];
    subscriber.on('message', (_topic, payload) => got.push(JSON.parse(payload.toString())));
    await subscriber.subscribeAsync('e2e/score', { qos: 1 });
    try {
      await red.deploy([
        { id: 'tab', type: 'tab', label: 'infer' },
        { id: 'dev', type: 'edge-modbus-device', transport: 'tcp', host: '127.0.0.1', port: pump.device.port, unitId: 1, timeout: 2000 },
        { id: 'mdl', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: '', pollInterval: '1' },
        { id: 'core-broker', type: 'mqtt-broker', broker: '127.0.0.1', port: String(broker.port), protocolVersion: '4', keepalive: '60', cleansession: true },
        { id: 'modbus', type: 'edge-sensor', z: 'tab', source: 'modbus', device: 'dev', topic: 'e2e/pump', interval: 0.05, outputMode: 'object', onFailure: 'quality', points: PUMP_POINTS, x: 100, y: 40, wires: [['agg']] },
        { id: 'agg', type: 'edge-aggregate', z: 'tab', key: 'topic', window: 'count', size: '20', hop: '', statistics: 'mean,stddev', output: 'features', featureSource: 'stats',
          layout: 'channel-major', channels: 'vibration,temperature,pressure,speed', partial: 'drop', x: 300, y: 40, wires: [['infer']] },
        { id: 'infer', type: 'edge-infer', z: 'tab', model: 'mdl', mode: 'anomaly', x: 500, y: 40, wires: [['json']] },
        { id: 'json', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"result": payload, "inference": inference}', tot: 'jsonata' }], x: 700, y: 40, wires: [['out']] },
        { id: 'out', type: 'mqtt out', z: 'tab', broker: 'core-broker', topic: 'e2e/score', qos: '1', retain: 'false', x: 900, y: 40, wires: [] },
      ]);
      await waitFor(() => got.length >= 2, 'scores of the pump', 30_000);
      const first = got[0];
      assert.equal(typeof first.result.score, 'number');
      assert.equal(first.result.threshold, m.manifest.threshold);
      assert.deepEqual([first.inference.model, first.inference.version], ['pump-anomaly', '1']);
      store.install(asVersion(m, '2').manifest, m.onnx);
      store.activate('pump-anomaly', '2'); // another process: picked up by the store watch
      await waitFor(() => got.some((g) => g.inference.version === '2'), 'answers from version 2', 30_000);
      assert.match(log(), /serving pump-anomaly version 2/);
    } finally {
      await subscriber.endAsync(true);
    }
  });

  it('stops cleanly: every node closes and the process exits 0 on SIGINT', async () => {
    const code = await red.stop('SIGINT');
    assert.equal(code, 0);
    assert.match(log(), /Stopped flows/);
  });

  it('has the broker publish the last will when the gateway process is killed', async () => {
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`);
    const wills: string[] = [];
    watcher.on('message', (_t, payload) => wills.push(payload.toString()));
    await watcher.subscribeAsync('e2e/gateway/status', { qos: 1 });
    const flows = [
      { id: 'tab', type: 'tab', label: 'will' },
      { id: 'b', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${broker.port}`, protocolVersion: '4', clean: true, keepalive: 30,
        rejectUnauthorized: true, willTopic: 'e2e/gateway/status', willPayload: 'offline', willQos: '1', willRetain: false },
      { id: 's', type: 'edge-sensor', z: 'tab', source: 'mqtt', broker: 'b', subscription: 'e2e/in', qos: '1', x: 100, y: 40, wires: [] },
    ];
    const gateway = await startNodeRed({ userDir, port: await freePort(), output: path.join(userDir, 'node-red-will.log'), flows });
    try {
      await waitFor(() => broker.connectedClients() === 2, 'the gateway connected', 20_000);
      assert.deepEqual(wills, []);
      await gateway.stop('SIGKILL');
      await waitFor(() => wills.length === 1, 'the last will', 10_000);
      assert.deepEqual(wills, ['offline']);
    } finally {
      await gateway.stop('SIGKILL');
      await watcher.endAsync(true);
    }
  });
});

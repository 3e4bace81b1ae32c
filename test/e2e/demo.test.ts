import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import ModbusRTU from 'modbus-serial';
import { REPO, SETUP_TIMEOUT_MS } from '../support/installed';
import { freePort, portInUse, waitFor } from '../../scripts/lib/net-util';
import { decodePublish, Envelope } from '../../nodes/core/uplink/uplink-batch';

const DEMO = path.join(REPO, 'build', 'scripts', 'demo.js');

interface Demo { child: ChildProcess; output: () => string; exited: Promise<number | null> }

function startDemo(env: Record<string, string>): Demo {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d) => { text += d; });
  child.stderr!.on('data', (d) => { text += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

describe('e2e: the demo gateway (npm start)', function () {
  // starting Node-RED, the broker, the device and the models takes most of it: sized for a loaded machine
  this.timeout(SETUP_TIMEOUT_MS);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-demo-'));
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  it('starts the broker, the pump and Node-RED with the demo flow, serves data, and stops cleanly on Ctrl-C', async () => {
    const ports = { editor: await freePort(), mqtt: await freePort(), modbus: await freePort(), cloudLink: await freePort(), registry: await freePort() };
    const demo = startDemo({
      EDGE_DEMO_PORT: String(ports.editor), EDGE_DEMO_MQTT_PORT: String(ports.mqtt), EDGE_DEMO_MODBUS_PORT: String(ports.modbus),
      EDGE_DEMO_CLOUD_LINK_PORT: String(ports.cloudLink), EDGE_DEMO_REGISTRY_PORT: String(ports.registry), EDGE_DEMO_UPDATE_AFTER: '3',
      // the first bearing episode at once: its alarm events go to the cloud at once
      EDGE_DEMO_FAULT_AFTER: '5',
      EDGE_DEMO_USER_DIR: userDir,
    });
    try {
      await waitFor(() => demo.output().includes('Edge Intelligence demo is running'), 'the banner', 300_000);
      assert.match(demo.output(), new RegExp(`Node-RED editor +http://127\\.0\\.0\\.1:${ports.editor}/`));
      assert.match(demo.output(), /\(demo flow deployed\)/);

      const flows = await (await fetch(`http://127.0.0.1:${ports.editor}/flows`, { headers: { Accept: 'application/json' } })).json() as Array<Record<string, unknown>>;
      assert.deepEqual(flows.filter((n) => n.type === 'edge-sensor').map((n) => n.source).sort(), ['modbus', 'modbus', 'modbus', 'modbus', 'mqtt', 'simulator']);
      assert.deepEqual(flows.filter((n) => n.type === 'edge-infer').map((n) => n.mode).sort(), ['anomaly', 'classify']);
      assert.match(demo.output(), /models +installed pump-anomaly 1, pump-classifier 1/);
      await waitFor(() => /serving pump-anomaly version 1/.test(demo.output()) && /serving pump-classifier version 1/.test(demo.output()), 'both models serving', 30_000);
      assert.equal(flows.filter((n) => n.type === 'edge-alarm').length, 1);
      assert.equal(flows.filter((n) => n.type === 'edge-filter').length, 1);
      assert.equal(flows.filter((n) => n.type === 'edge-aggregate').length, 4, 'statistics for the dashboard and for the cloud, and two feature windows');
      const alarmNode = flows.find((n) => n.type === 'edge-alarm') as { alarms: Array<{ id: string; kind: string }> };
      assert.ok(alarmNode.alarms.some((a) => a.id === 'pump anomaly' && a.kind === 'flag'), 'an alarm on the model\'s anomaly flag');
      assert.equal(flows.filter((n) => n.type === 'edge-modbus-device').length, 1, 'the examples share one device');
      assert.equal(flows.find((n) => n.type === 'edge-modbus-device')!.port, ports.modbus);
      assert.equal(flows.filter((n) => n.type === 'edge-uplink').length, 1);
      assert.equal(flows.find((n) => n.id === 'edge-cloud-broker')!.url, `mqtt://127.0.0.1:${ports.cloudLink}`);

      // the simulated line publishes through the demo's broker
      const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`);
      const got: string[] = [];
      sub.on('message', (topic, payload) => got.push(`${topic} ${payload}`));
      await sub.subscribeAsync('plant1/#');
      await waitFor(() => got.length > 0, 'a line 2 reading', 15_000);
      assert.match(got[0], /^plant1\/line2\/telemetry \{"flow":[\d.]+,"level":[\d.]+\}$/);
      await sub.endAsync();

      // the pump answers Modbus with plausible values in both encodings
      const client = new ModbusRTU();
      await client.connectTCP('127.0.0.1', { port: ports.modbus });
      client.setID(1);
      const floats = Buffer.from((await client.readHoldingRegisters(0, 8)).buffer);
      const scaled = (await client.readInputRegisters(0, 4)).data;
      await new Promise<void>((r) => client.close(() => r()));
      const temperature = floats.readFloatBE(4);
      assert.ok(temperature > 40 && temperature < 90, `temperature ${temperature}`);
      assert.ok(Math.abs(scaled[3] - floats.readFloatBE(12)) < 30, 'speed in both encodings');

      // the dashboard is served (its pages are tested in a browser in dashboard.test)
      const base = `http://127.0.0.1:${ports.editor}`;
      const dashboard = await fetch(`${base}/dashboard/alarms`);
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /<div id="app"/);

      // alarm events reach the cloud at once through edge-uplink, with the flagged anomalies and the 1 min
      // statistics that waited; a cut link only delays them
      const cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`);
      const envelopes: Envelope[] = [];
      cloud.on('message', (_t, payload) => envelopes.push(...decodePublish(payload)));
      await cloud.subscribeAsync('edge/site1', { qos: 1 });
      await waitFor(() => envelopes.some((e) => e.topic.startsWith('alarm/')), 'an alarm event in the cloud', 60_000);
      await waitFor(() => envelopes.some((e) => (e.payload as { anomaly?: boolean }).anomaly === true), 'a flagged anomaly in the cloud', 60_000);
      await cloud.publishAsync('demo/cloud-link', 'down', { qos: 1 });
      await waitFor(() => demo.output().includes('Cloud link cut'), 'the link cut', 5000);
      const cutAt = Date.now();
      // statistics come every whole minute: the link stays down until one is made
      const minuteDone = (Math.floor(cutAt / 60_000) + 1) * 60_000 + 2000;
      await waitFor(() => Date.now() > minuteDone, 'a minute boundary passed while the link is down', 65_000);
      const beforeRestore = envelopes.length;
      await cloud.publishAsync('demo/cloud-link', 'up', { qos: 1 });
      const statistics = (e: Envelope) => e.topic === 'plant1/pump7' && typeof (e.payload as { temperature?: { mean?: unknown } }).temperature?.mean === 'number';
      await waitFor(() => envelopes.some((e) => statistics(e) && e.ts > cutAt && e.ts < minuteDone), '1 min statistics made while the link was down', 150_000);
      assert.ok(envelopes.length > beforeRestore);
      const seqs = [...new Set(envelopes.map((e) => e.seq))].sort((a, b) => a - b);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0] + i), 'no record missing');
      await cloud.endAsync();

      // the registry's version 2, signed, verified, in shadow beside version 1 for 12 samples (a minute of the pump's
      // feature vectors), then hot-swapped into the anomaly node
      assert.equal(flows.filter((n) => n.type === 'edge-model-update').length, 1);
      await waitFor(() => /serving pump-anomaly version 2/.test(demo.output()), 'pump-anomaly 2 serving after its shadow', 240_000);
      // in this order in the log, whenever the test got here: in shadow, passed, then served
      const log = demo.output();
      const started = log.search(/pump-anomaly version 2 runs in shadow beside 1 until its gate decides \(12 samples\)/);
      const passed = log.search(/pump-anomaly version 2 passed its shadow: agreement \d+(\.\d)? % over 1\d samples/);
      const served = log.search(/serving pump-anomaly version 2/);
      assert.ok(started >= 0 && passed > started && served > passed, `in shadow (${started}), passed (${passed}), then served (${served})`);
      assert.match(demo.output(), /pump-anomaly version 2 published \(signed, to run in shadow for 12 samples first\)/);

      // the cloud's view read every batch: nothing in the flows logged an error
      assert.doesNotMatch(demo.output(), /\[error\]/);

      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0);
      for (const port of Object.values(ports)) assert.equal(await portInUse(port), false, `port ${port} released`);
    } finally {
      demo.child.kill('SIGKILL');
    }
  });

  it('refuses to start on a busy port and names it', async () => {
    const blocker = net.createServer();
    const busy = await freePort();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', () => r()));
    try {
      const demo = startDemo({
        EDGE_DEMO_PORT: String(await freePort()), EDGE_DEMO_MQTT_PORT: String(busy), EDGE_DEMO_MODBUS_PORT: String(await freePort()),
        EDGE_DEMO_USER_DIR: userDir,
      });
      assert.equal(await demo.exited, 1);
      assert.match(demo.output(), new RegExp(`Cannot start the demo: mqtt port ${busy} already in use on 127\\.0\\.0\\.1\\.`));
      assert.match(demo.output(), /EDGE_DEMO_MQTT_PORT/);
    } finally {
      blocker.close();
    }
  });
});

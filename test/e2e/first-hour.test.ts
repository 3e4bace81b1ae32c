/**
 * A new user's first flow, in the packed package on a real Node-RED, built in headless Chromium: nodes dragged from
 * the palette with their defaults, wired port to port, only the uplink's broker set, deployed. Records must reach a
 * subscriber on the broker, statistics and an alarm event among them.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { installedUserDir, SETUP_TIMEOUT_MS } from '../support/installed';
import { deploy, done, dropNode, Editor, openDialog, openEditor, wire } from '../support/editor';
import { startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { delay, freePort, waitFor } from '../../scripts/lib/net-util';
import { decodePublish, Envelope } from '../../nodes/core/uplink/uplink-batch';

interface Cloud {
  envelopes: Envelope[];
  close(): Promise<void>;
}

/** Everything edge-uplink publishes on the broker, unpacked (its default batches are gzipped JSON arrays). */
async function subscriber(port: number): Promise<Cloud> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
  const got: Cloud = { envelopes: [], close: () => client.endAsync(true) };
  client.on('message', (_topic, payload) => got.envelopes.push(...decodePublish(payload)));
  await client.subscribeAsync('#', { qos: 1 });
  return got;
}

/** The one thing a user sets: the uplink's broker, added from the uplink's dialog. */
async function setBroker(page: Page, uplink: string, url: string): Promise<void> {
  await openDialog(page, uplink, '#node-input-broker');
  await page.click('#node-input-btn-broker-add');
  await page.waitForSelector('#node-config-input-url');
  await page.fill('#node-config-input-url', url);
  await page.click('#node-config-dialog-ok');
  await page.waitForSelector('#node-config-input-url', { state: 'detached' });
  await done(page, '#node-input-broker');
}

/**
 * The chain from the palette: a source, edge-filter, edge-aggregate, edge-alarm and edge-uplink wired port to port
 * (the statistics to the uplink as well as to the alarm), the uplink's broker set, deployed.
 */
async function chain(page: Page, sourceType: string, brokerUrl: string): Promise<Record<'source' | 'filter' | 'aggregate' | 'alarm' | 'uplink', string>> {
  const ids = {
    source: await dropNode(page, sourceType, 160, 120),
    filter: await dropNode(page, 'edge-filter', 160, 220),
    aggregate: await dropNode(page, 'edge-aggregate', 160, 320),
    alarm: await dropNode(page, 'edge-alarm', 160, 420),
    uplink: await dropNode(page, 'edge-uplink', 520, 370),
  };
  await wire(page, ids.source, 0, ids.filter);
  await wire(page, ids.filter, 0, ids.aggregate);
  await wire(page, ids.aggregate, 0, ids.alarm);
  await wire(page, ids.aggregate, 0, ids.uplink);
  await wire(page, ids.alarm, 0, ids.uplink);
  await setBroker(page, ids.uplink, brokerUrl);
  await deploy(page);
  return ids;
}

const statistics = (e: Envelope) => typeof e.payload === 'object' && e.payload !== null && 'temperature' in e.payload
  && typeof (e.payload as { temperature: { mean?: unknown } }).temperature.mean === 'number';
const alarmRaised = (e: Envelope) => e.topic === 'alarm/high value' && (e.payload as { state?: string }).state === 'unacknowledged';

describe('e2e: the first hour, defaults that work together (Chromium)', function () {
  this.timeout(SETUP_TIMEOUT_MS);
  let broker: EmbeddedBroker;
  let red: NodeRedProcess;
  let editor: Editor;
  let cloud: Cloud;

  beforeEach(async function () {
    this.timeout(SETUP_TIMEOUT_MS);
    const userDir = await installedUserDir();
    broker = await startAedes(await freePort());
    cloud = await subscriber(broker.port);
    red = await startNodeRed({ userDir, port: await freePort(), output: path.join(userDir, 'node-red-first-hour.log'), flows: [] });
    editor = await openEditor(red.url);
  });

  afterEach(async function () {
    await editor?.close(`first-hour-${this.currentTest?.title.split(' ')[0]}.png`);
    await red?.stop();
    await cloud?.close();
    await broker?.close();
  });

  it('simulator: edge-sensor -> edge-filter -> edge-aggregate -> edge-alarm -> edge-uplink, only the broker set', async () => {
    const { page } = editor;
    const { source: sensor, filter, aggregate, alarm, uplink } = await chain(page, 'edge-sensor', `mqtt://127.0.0.1:${broker.port}`);

    const flows = await red.api<Array<Record<string, any>>>('GET', '/flows');
    const byId = (id: string) => flows.find((n) => n.id === id)!;
    assert.deepEqual(byId(sensor).wires, [[filter]]);
    assert.deepEqual(byId(aggregate).wires, [[alarm, uplink], []]);
    assert.deepEqual(byId(alarm).wires, [[uplink], []]);

    // the simulator's default channel overheats 10 s in, for 30 s: two 10 s means above the default limit of 80
    await waitFor(() => cloud.envelopes.some(statistics) && cloud.envelopes.some(alarmRaised), 'statistics and an alarm event at the broker', 180_000);
    const stats = cloud.envelopes.find(statistics)!;
    assert.equal(stats.topic, 'simulator');
    const t = (stats.payload as { temperature: Record<string, number> }).temperature;
    assert.deepEqual(Object.keys(t).sort(), ['count', 'max', 'mean', 'min', 'stddev']);
    assert.ok(t.count >= 1 && t.min <= t.mean && t.mean <= t.max, JSON.stringify(t));
    const raised = cloud.envelopes.find(alarmRaised)!;
    const event = raised.payload as { value: number; priority: number; message: string };
    assert.ok(event.value > 80, `the alarm's value ${event.value}`);
    assert.equal(event.priority, 700);
    assert.match(event.message, /^high value: \d+(\.\d+)? above 80$/);

    // the alarm's dialog now offers what the deployed node saw, and a new rule starts on it
    await openDialog(page, alarm, '#node-input-alarms-container');
    await page.waitForFunction(() => /payload\.temperature\b/.test(document.getElementById('edge-alarm-paths-seen')?.textContent ?? ''));
    assert.match(await page.locator('#edge-alarm-paths-seen').innerText(), /payload\.temperature, payload\.temperature\.count, payload\.temperature\.mean/);
    assert.equal(await page.locator('#edge-alarm-paths option').first().getAttribute('value'), 'payload.temperature');
    await page.click('#node-input-alarms-container-row .red-ui-editableList-addButton');
    assert.equal(await page.locator('#node-input-alarms-container li').nth(1).locator('.edge-cell-path').inputValue(), 'payload.temperature');
    await page.click('#node-dialog-cancel');
    assert.deepEqual(editor.problems, []);
  });

  it('inject: a core inject of numbers -> edge-filter -> edge-aggregate -> edge-alarm -> edge-uplink', async () => {
    const { page } = editor;
    const { source: inject } = await chain(page, 'inject', `mqtt://127.0.0.1:${broker.port}`);

    // the user presses the inject button (its default payload is the time, a number) until the records are there
    const button = page.locator(`[id="${inject}"] .red-ui-flow-node-button`);
    const arrived = () => cloud.envelopes.some((e) => typeof (e.payload as { mean?: unknown }).mean === 'number')
      && cloud.envelopes.some((e) => e.topic === 'alarm/high value');
    for (const deadline = Date.now() + 180_000; !arrived(); await delay(1000)) {
      if (Date.now() > deadline) throw new Error('no statistics of the injected numbers and no alarm event at the broker after 180 s');
      await button.click();
    }
    const stats = cloud.envelopes.find((e) => typeof (e.payload as { mean?: unknown }).mean === 'number')!;
    const s = stats.payload as Record<string, number>;
    assert.deepEqual(Object.keys(s).sort(), ['count', 'max', 'mean', 'min', 'stddev']);
    assert.ok(s.min > 1.7e12 && s.max < Date.now() + 1, 'the statistics of the timestamps injected');
    assert.deepEqual(editor.problems, []);
  });
});

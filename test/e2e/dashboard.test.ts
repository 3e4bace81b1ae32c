/**
 * The demo's dashboard (FlowFuse Dashboard 2.0) in headless Chromium, against the running demo: each of the four
 * pages loads without a console or page error and fills its charts and texts; an operator acknowledges and
 * shelves alarms from the Alarms page (asserted on what edge-alarm sent, as the cloud receives it), and cuts and
 * restores the cloud link from the Cloud link page. Screenshots of the pages go to the test artifacts.
 */
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { chromium, Browser, Page } from 'playwright-core';
import { REPO, SETUP_TIMEOUT_MS } from '../support/installed';
import { ARTIFACTS, CHROMIUM_ARGS } from '../support/editor';
import { freePort, waitFor } from '../../scripts/lib/net-util';
import { decodePublish, Envelope } from '../../nodes/core/uplink/uplink-batch';

/** what edge-alarm sends: its records are objects */
type AlarmEnvelope = Envelope & { payload: Record<string, unknown> };

type FlowNode = Record<string, unknown> & { id: string; type: string };

/** how long a page may take to show its first data: the 10 s statistics and the first feature windows need ~15 s */
const FIRST_DATA_MS = 90_000;

describe('e2e: the dashboard of the demo (FlowFuse Dashboard 2.0, Chromium)', function () {
  this.timeout(SETUP_TIMEOUT_MS);
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-dashboard-'));
  let demo: ChildProcess;
  let output = '';
  let url: string;
  let flows: FlowNode[];
  let browser: Browser;
  let cloud: mqtt.MqttClient;
  const alarmEvents: AlarmEnvelope[] = [];
  const problems: string[] = [];

  before(async () => {
    const ports = { editor: await freePort(), mqtt: await freePort(), modbus: await freePort(), cloudLink: await freePort(), registry: await freePort() };
    demo = spawn(process.execPath, [path.join(REPO, 'build', 'scripts', 'demo.js')], {
      env: {
        ...process.env, EDGE_DEMO_PORT: String(ports.editor), EDGE_DEMO_MQTT_PORT: String(ports.mqtt), EDGE_DEMO_MODBUS_PORT: String(ports.modbus),
        EDGE_DEMO_CLOUD_LINK_PORT: String(ports.cloudLink), EDGE_DEMO_REGISTRY_PORT: String(ports.registry), EDGE_DEMO_USER_DIR: userDir,
        // the pump's bearing episode comes soon, so the alarms have something to raise
        EDGE_DEMO_FAULT_AFTER: '5', EDGE_DEMO_UPDATE_AFTER: '3600',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    demo.stdout!.on('data', (d) => { output += d; });
    demo.stderr!.on('data', (d) => { output += d; });
    await waitFor(() => output.includes('Edge Intelligence demo is running'), 'the demo', 300_000);
    url = `http://127.0.0.1:${ports.editor}`;
    assert.match(output, new RegExp(`dashboard +${url}/dashboard`));
    flows = await (await fetch(`${url}/flows`, { headers: { Accept: 'application/json' } })).json() as FlowNode[];
    // what edge-alarm sends, as the cloud receives it through edge-uplink
    cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`);
    cloud.on('message', (_topic, payload) => {
      for (const e of decodePublish(payload)) if (e.topic.startsWith('alarm/')) alarmEvents.push(e as AlarmEnvelope);
    });
    await cloud.subscribeAsync('edge/site1', { qos: 1 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await cloud?.endAsync(true);
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGINT');
      await exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A dashboard page with the dashboard's own test hook on (its charts then say what they plot). */
  async function open(name: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(`${name}: ${err.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`${name}: ${m.text()}`); });
    await page.addInitScript(() => { (window as unknown as { Cypress: boolean }).Cypress = true; });
    await page.goto(`${url}/dashboard/${name}`);
    return page;
  }

  /** The widgets of one page, by type, from the deployed flow. */
  function widgets(pageName: string, type: string): FlowNode[] {
    const page = flows.find((n) => n.type === 'ui-page' && n.name === pageName)!;
    assert.ok(page, `a page "${pageName}"`);
    const groups = new Set(flows.filter((n) => n.type === 'ui-group' && n.page === page.id).map((n) => n.id));
    return flows.filter((n) => n.type === type && groups.has(n.group as string));
  }

  const textOf = (page: Page, id: string) => page.locator(`#nrdb-ui-widget-${id} .nrdb-ui-text-value`).innerText();
  /** What a chart plots: its points, and the time of the oldest. */
  const plotted = (page: Page, id: string) => page.evaluate((chart) => {
    const charts = (window as unknown as { uiCharts?: Record<string, { chart?: { getOption(): { series: Array<{ data?: Array<[number, number]> }> } } }> }).uiCharts;
    const series = charts?.[chart]?.chart?.getOption().series ?? [];
    const data = series.flatMap((s) => s.data ?? []);
    return { points: data.length, oldest: Math.min(...data.map((d) => d[0])) };
  }, id);
  const pointsOf = async (page: Page, id: string) => (await plotted(page, id)).points;

  async function filled(name: string, pageName: string): Promise<Page> {
    const page = await open(name);
    const charts = widgets(pageName, 'ui-chart');
    const texts = widgets(pageName, 'ui-text');
    assert.ok(charts.length + texts.length + widgets(pageName, 'ui-template').length > 0, `widgets on ${pageName}`);
    for (const c of charts) await waitFor(async () => (await pointsOf(page, c.id)) > 0, `points on the chart "${c.name}"`, FIRST_DATA_MS);
    for (const t of texts) await waitFor(async () => (await textOf(page, t.id).catch(() => '')).trim() !== '', `the text "${t.name}"`, FIRST_DATA_MS);
    // the charts' history is kept by the dashboard: a page opened later plots points from before it opened
    const openedAt = Date.now();
    const later = await open(name);
    for (const c of charts) await waitFor(async () => (await plotted(later, c.id)).oldest < openedAt, `the history of "${c.name}" on a page opened later`, 30_000);
    await later.close();
    return page;
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `dashboard-${name}.jpg`), type: 'jpeg', quality: 80, fullPage: true });
  }

  it('Process: current values with units and quality, the Modbus link, and trends with their points', async () => {
    const page = await filled('process', 'Process');
    const row = page.locator('tr[data-channel="temperature"]');
    await row.waitFor({ timeout: FIRST_DATA_MS });
    assert.match(await row.locator('td').nth(1).innerText(), /^\d+(\.\d+)? °C$/);
    assert.equal(await row.locator('td').nth(2).innerText(), 'good');
    assert.match(await textOf(page, 'edge-fa-ui-link'), /^connected · 2\/2 points$/);
    await screenshot(page, 'process');
    await page.close();
  });

  it('Model: the score against its threshold, the condition, the version serving, latency, drops and the updater', async () => {
    const page = await filled('model', 'Model');
    assert.match(await textOf(page, 'edge-inf-ui-version'), /^pump-anomaly version 1$/);
    assert.match(await textOf(page, 'edge-inf-ui-condition'), /^(normal|bearing|cavitation|stuck-sensor) \(\d+ %\)$/);
    assert.equal(await textOf(page, 'edge-mu-ui-active'), '1');
    assert.equal(await textOf(page, 'edge-mu-ui-state'), 'serving 1');
    await screenshot(page, 'model');
    await page.close();
  });

  it('Alarms: acknowledge and shelve from the page reach edge-alarm, a held button stays the same element, and the trail filters', async () => {
    const page = await filled('alarms', 'Alarms');
    const row = (id: string) => page.locator(`tr[data-alarm="${id}"]`);
    const ack = row('pump fault').getByRole('button', { name: 'Acknowledge', exact: true });
    await ack.waitFor({ timeout: FIRST_DATA_MS });
    await row('high vibration').waitFor({ timeout: FIRST_DATA_MS });
    const held = await ack.elementHandle();

    await page.fill('.edge-who', 'ana');
    await page.selectOption('.edge-shelf', { label: '15 min' });
    await row('high vibration').getByRole('button', { name: 'Shelve', exact: true }).click();
    await waitFor(() => alarmEvents.some((e) => e.payload.alarmId === 'high vibration' && e.payload.state === 'shelved'), 'the shelve event from edge-alarm', 30_000);
    const shelved = alarmEvents.find((e) => e.payload.alarmId === 'high vibration' && e.payload.state === 'shelved')!.payload;
    assert.equal(shelved.who, 'ana');
    assert.equal((shelved.shelvedUntil as number) - (shelved.ts as number), 15 * 60_000, 'shelved for the chosen 15 min');
    await waitFor(async () => (await row('high vibration').locator('.edge-state').innerText()) === 'shelved', 'the row says shelved');
    assert.equal(await held!.evaluate((el) => el.isConnected), true, 'the Acknowledge button under the pointer is the same element after the update');

    await page.fill('.edge-comment', 'bearing checked');
    await held!.click();
    await waitFor(() => alarmEvents.some((e) => e.payload.alarmId === 'pump fault' && e.payload.acked === true && e.payload.who === 'ana'), 'the acknowledgement from edge-alarm', 30_000);
    const acked = alarmEvents.find((e) => e.payload.alarmId === 'pump fault' && e.payload.acked === true)!.payload;
    assert.equal(acked.comment, 'bearing checked');
    await waitFor(async () => /^ack by ana, .+: bearing checked$/.test(await row('pump fault').locator('.edge-note').innerText()), 'who acknowledged, and why');
    assert.equal(await ack.isHidden(), true, 'nothing left to acknowledge');
    assert.match(await page.locator('.edge-count-shelved').innerText(), /^shelved 1$/);

    // the trail, newest first, filtered by the operator's name: the two actions
    await page.fill('.edge-filter', 'ana');
    const trail = page.locator('.edge-trail tbody tr');
    await waitFor(async () => (await trail.count()) === 2, 'two events by ana');
    assert.match(await trail.nth(0).innerText(), /pump fault\s+command ack/);
    assert.match(await trail.nth(1).innerText(), /high vibration\s+command shelve/);
    await page.fill('.edge-filter', '');
    await screenshot(page, 'alarms');
    await page.close();
  });

  it('Cloud link: cutting it from the page turns it offline and the backlog grows; restoring it drains the backlog', async () => {
    const page = await filled('cloud', 'Cloud link');
    const waiting = async () => Number(await textOf(page, 'edge-up-ui-queued'));
    assert.equal(await textOf(page, 'edge-up-ui-link'), 'connected');
    await page.locator('#nrdb-ui-widget-edge-up-ui-cut button').click();
    await waitFor(async () => (await textOf(page, 'edge-up-ui-link')) === 'offline: buffering on disk', 'the link offline', 30_000);
    await waitFor(async () => (await waiting()) >= 5, 'a backlog of 5 records', 60_000);
    const peak = await waiting();
    await page.locator('#nrdb-ui-widget-edge-up-ui-restore button').click();
    await waitFor(async () => (await textOf(page, 'edge-up-ui-link')) === 'connected', 'the link back', 60_000);
    await waitFor(async () => (await waiting()) < Math.min(peak / 2, 5), `the backlog of ${peak} drained`, 60_000);
    await screenshot(page, 'cloud');
    await page.close();
  });

  it('no page logged an error', () => {
    assert.deepEqual(problems, []);
  });
});

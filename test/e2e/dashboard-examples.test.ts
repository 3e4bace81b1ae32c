/**
 * Each example flow alone, as a user imports it, with its dashboard page in headless Chromium: Node-RED runs the
 * packed package and FlowFuse Dashboard 2.0 (found, as Node-RED finds modules, in the node_modules above its own
 * install: this repository's devDependency). The pump and the cloud are unreachable here, so what the pages show
 * is the gateway's view of a plant it cannot reach: bad readings, an alarm raised by itself, an offline uplink.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { installedUserDir, REPO, SETUP_TIMEOUT_MS } from '../support/installed';
import { CHROMIUM_ARGS } from '../support/editor';
import { startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { freePort, waitFor } from '../../scripts/lib/net-util';

type FlowNode = Record<string, unknown> & { id: string; type: string };

const DATA_MS = 60_000;

describe('e2e: each example alone, with its dashboard page (Chromium)', function () {
  this.timeout(SETUP_TIMEOUT_MS);
  let red: NodeRedProcess;
  let browser: Browser;
  let nobody: number;

  /** An example with every device and broker pointed at a port nothing listens on. */
  function example(file: string): FlowNode[] {
    const flow = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', file), 'utf8')) as FlowNode[];
    for (const n of flow) {
      if (n.type === 'edge-modbus-device') n.port = nobody;
      if (n.type === 'edge-mqtt-broker') n.url = `mqtt://127.0.0.1:${nobody}`;
      if (n.type === 'mqtt-broker') n.port = String(nobody);
    }
    return flow;
  }

  before(async function () {
    const userDir = await installedUserDir();
    nobody = await freePort();
    red = await startNodeRed({ userDir, port: await freePort(), output: path.join(userDir, 'node-red-dashboard-examples.log'), flows: [] });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
  });

  /** Deploys one example alone and opens its page: no page or console error while the test uses it. */
  async function page(file: string, pagePath: string, use: (page: Page, flow: FlowNode[]) => Promise<void>): Promise<void> {
    const flow = example(file);
    await red.deploy(flow);
    const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    p.on('pageerror', (err) => problems.push(err.message));
    p.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    await p.goto(`${red.url}/dashboard${pagePath}`);
    const groups = flow.filter((n) => n.type === 'ui-group').map((n) => n.name as string);
    for (const name of groups) await p.getByText(name, { exact: true }).first().waitFor({ timeout: DATA_MS });
    await use(p, flow);
    assert.deepEqual(problems, []);
    await p.close();
  }

  const textOf = (p: Page, id: string) => p.locator(`#nrdb-ui-widget-${id} .nrdb-ui-text-value`).innerText();

  it('the alarm example: an alarm that raised itself is acknowledged with a comment from the page, and its buttons stay put', async () => {
    await page('edge-alarm-dashboard.json', '/alarms', async (p) => {
      const row = p.locator('tr[data-alarm="pump data bad"]');
      const ack = row.getByRole('button', { name: 'Acknowledge', exact: true });
      await ack.waitFor({ timeout: DATA_MS });
      assert.equal(await row.locator('.edge-state').innerText(), 'active, not acknowledged');
      assert.equal(await row.locator('td').nth(3).innerText(), 'pump 7 readings are bad (communication lost?)');
      const held = await ack.elementHandle();
      // a comment on an alarm in normal, from the list of every alarm: in the trail, its state unchanged; the list
      // gets a new summary meanwhile, and the button under the pointer must stay the same element
      await p.fill('.edge-who', 'ana');
      await p.selectOption('.edge-pick', 'high temperature');
      await p.fill('.edge-comment', 'sensor recalibrated');
      await p.getByRole('button', { name: 'Add the comment' }).click();
      await waitFor(async () => /high temperature\s+comment: operator comment\s+normal → normal\s+ana\s+sensor recalibrated/.test(await p.locator('.edge-trail tbody tr').first().innerText()), 'the comment in the trail');
      assert.equal(await held!.evaluate((el) => el.isConnected), true, 'the same button after the list changed');
      await p.fill('.edge-comment', 'cable checked');
      await held!.click();
      await waitFor(async () => (await row.locator('.edge-state').innerText()) === 'active, acknowledged', 'acknowledged');
      assert.match(await row.locator('.edge-note').innerText(), /^ack by ana, .+: cable checked$/);
      // a refusal is said on the page: an alarm already out of service cannot be taken out again
      await p.getByRole('button', { name: 'Take out of service' }).click();
      await waitFor(async () => /high temperature \(out of service\)/.test(await p.locator('.edge-pick').innerText()), 'out of service');
      await p.getByRole('button', { name: 'Take out of service' }).click();
      await waitFor(async () => (await p.locator('.edge-refusal').innerText().catch(() => '')) !== '', 'the refusal in words');
    });
  });

  it('the filter example: bad readings with their reason, and the Modbus link as it is', async () => {
    await page('edge-filter-aggregate.json', '/process', async (p) => {
      const row = p.locator('tr[data-channel="temperature"]');
      await row.waitFor({ timeout: DATA_MS });
      assert.match(await row.locator('td').nth(2).innerText(), /^bad: .+/);
      await waitFor(async () => /^(connecting|reconnecting|.*(refused|ECONNREFUSED).*)$/i.test(await textOf(p, 'edge-fa-ui-link').catch(() => '')), 'the link state', DATA_MS);
    });
  });

  it('the uplink example: offline, buffering on disk, with the backlog counted', async () => {
    await page('edge-uplink-cloud.json', '/cloud', async (p) => {
      await waitFor(async () => (await textOf(p, 'edge-up-ui-link').catch(() => '')) === 'offline: buffering on disk', 'offline', DATA_MS);
      // each widget gets the statistics on its own socket event, so each is waited for, not read once
      await waitFor(async () => (await textOf(p, 'edge-up-ui-queued').catch(() => '')) !== '', 'records waiting', DATA_MS);
      await waitFor(async () => (await textOf(p, 'edge-up-ui-dropped').catch(() => '')) !== '', 'dropped', DATA_MS);
      assert.equal(await textOf(p, 'edge-up-ui-queued'), '0');
      assert.match(await textOf(p, 'edge-up-ui-dropped'), /^buffer full 0 · too old 0 · too large 0 · refused 0 · disk full 0$/);
    });
  });

  it('the inference and model update examples: the Model page and its groups, even with no model installed', async () => {
    await page('edge-infer-anomaly.json', '/model', async () => undefined);
    await page('edge-model-update.json', '/model', async () => undefined);
  });
});

/**
 * The alarm example's operator page in headless Chromium, served by a real Node-RED from the packed package. Its
 * Modbus device is unreachable, so the pump's readings are bad and the "pump data bad" alarm raises by itself. The
 * page must keep its rows and buttons while it refreshes (a click is never lost), say states in words, and show
 * the message, the time and who acknowledged with their comment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser } from 'playwright-core';
import { installedUserDir, REPO, SETUP_TIMEOUT_MS } from '../support/installed';
import { CHROMIUM_ARGS } from '../support/editor';
import { startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { freePort } from '../../scripts/lib/net-util';

describe('e2e: the operator page of the alarm example (Chromium)', function () {
  this.timeout(SETUP_TIMEOUT_MS);
  let red: NodeRedProcess;
  let browser: Browser;

  before(async function () {
    const userDir = await installedUserDir();
    const flow = JSON.parse(fs.readFileSync(path.join(REPO, 'examples', 'edge-alarm-dashboard.json'), 'utf8')) as Array<Record<string, unknown>>;
    // a port nothing listens on: every poll fails, and the readings go out with quality "bad"
    const nobody = await freePort();
    for (const n of flow) if (n.type === 'edge-modbus-device') n.port = nobody;
    red = await startNodeRed({ userDir, port: await freePort(), output: path.join(userDir, 'node-red-operator.log'), flows: flow });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await red?.stop();
  });

  it('keeps its buttons under the pointer across refreshes, and an acknowledgement with a comment lands', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${red.url}/alarms`);
    const row = page.locator('tr', { hasText: 'pump data bad' });
    const ack = row.locator('button', { hasText: 'Acknowledge' });
    await ack.waitFor({ timeout: 60_000 });
    assert.equal(await row.locator('td').nth(1).innerText(), 'active, not acknowledged');
    assert.equal(await row.locator('td').nth(3).innerText(), 'pump 7 readings are bad (communication lost?)');
    assert.match(await row.locator('td').nth(5).innerText(), /\d{1,2}:\d{2}/, 'since when');

    // the very element stays in the page while the page refreshes twice
    const button = await ack.elementHandle();
    for (let i = 0; i < 2; i++) await page.waitForResponse((r) => r.url().endsWith('/alarms/api/summary'));
    assert.equal(await button!.evaluate((el) => el.isConnected && !(el as HTMLButtonElement).hidden), true, 'the same button, still shown');

    await page.fill('#who', 'ana');
    await page.fill('#comment', 'cable checked');
    await button!.click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll('tr')).some((tr) =>
      tr.textContent!.includes('pump data bad') && tr.textContent!.includes('active, acknowledged') && tr.textContent!.includes('ack by ana')));
    assert.match(await row.locator('td').nth(7).innerText(), /^ack by ana, .+: cable checked$/);
    assert.equal(await ack.isHidden(), true, 'nothing left to acknowledge');
    assert.equal(await row.locator('button', { hasText: 'Shelve 1 h' }).isVisible(), true);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

/**
 * The Node-RED editor in headless Chromium, driven as a user drives it: nodes dragged from the palette, wired port
 * to port with the mouse, dialogs filled in, Deploy pressed. Shared by the end-to-end editor tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';
import { REPO } from './installed';

/** Chromium as Debian ships it, headless, with every call home switched off (the machine may be offline). */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const ARTIFACTS = path.join(REPO, 'test-artifacts');

export interface Editor {
  browser: Browser;
  page: Page;
  /** page errors and console errors seen so far */
  problems: string[];
  close(screenshot: string): Promise<void>;
}

export async function openEditor(url: string): Promise<Editor> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  await page.goto(`${url}/`);
  await page.waitForSelector('.red-ui-palette-node[data-palette-type="edge-sensor"]', { timeout: 300_000 });
  return {
    browser,
    page,
    problems,
    async close(screenshot) {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, screenshot) }).catch(() => undefined);
      await browser.close();
    },
  };
}

type EditorWindow = { RED: { nodes: { filterNodes(f: { type: string }): Array<{ id: string }> } } };

/** Drags a node from the palette onto the workspace at (x, y); returns the new node's id. */
export async function dropNode(page: Page, type: string, x: number, y: number): Promise<string> {
  const before = await page.evaluate((t) => (window as unknown as EditorWindow).RED.nodes.filterNodes({ type: t }).map((n) => n.id), type);
  await page.dragAndDrop(`.red-ui-palette-node[data-palette-type="${type}"]`, '#red-ui-workspace-chart', { targetPosition: { x, y } });
  const handle = await page.waitForFunction(({ t, known }) => {
    const fresh = (window as unknown as EditorWindow).RED.nodes.filterNodes({ type: t }).map((n) => n.id).filter((id) => !known.includes(id));
    return fresh.length === 1 ? fresh[0] : undefined;
  }, { t: type, known: before });
  return (await handle.jsonValue()) as string;
}

/** Draws a wire with the mouse from output `port` (0-based) of one node to the input of another. */
export async function wire(page: Page, from: string, port: number, to: string): Promise<void> {
  const out = await page.locator(`[id="${from}"] .red-ui-flow-port-output .red-ui-flow-port`).nth(port).boundingBox();
  const into = await page.locator(`[id="${to}"] .red-ui-flow-port-input .red-ui-flow-port`).boundingBox();
  if (!out || !into) throw new Error(`no port to wire ${from}:${port} -> ${to}`);
  await page.mouse.move(out.x + out.width / 2, out.y + out.height / 2);
  await page.mouse.down();
  await page.mouse.move(into.x + into.width / 2, into.y + into.height / 2, { steps: 8 });
  await page.mouse.up();
}

/** Opens a node's edit dialog by double-clicking it on the workspace. */
export async function openDialog(page: Page, id: string, ready: string): Promise<void> {
  await page.locator(`[id="${id}"] rect.red-ui-flow-node`).dblclick();
  await page.waitForSelector(ready);
}

/** Presses Done in the node's dialog and waits for it to close. */
export async function done(page: Page, ready: string): Promise<void> {
  await page.click('#node-dialog-ok');
  await page.waitForSelector(ready, { state: 'detached' });
}

/**
 * Presses Deploy and waits for the runtime to answer this deploy. Waiting for the "Successfully deployed"
 * notification alone is not enough: the one of an earlier deploy may still be on the page.
 */
export async function deploy(page: Page): Promise<void> {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/flows'), { timeout: 60_000 });
  await page.click('#red-ui-header-button-deploy');
  const response = await answered;
  if (!response.ok()) throw new Error(`the deploy was refused: ${response.status()} ${await response.text()}`);
  await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { timeout: 60_000 });
}

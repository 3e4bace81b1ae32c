/**
 * The bad-value table in the editor (headless Chromium, the packed package): each value typed into its field or
 * list cell turns it red with the runtime's words as the tooltip, and Deploy warns that the node is not properly
 * configured. test/nodes/bad-settings.test.ts deploys the same table and gets the same words at run time.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { installedUserDir, SETUP_TIMEOUT_MS } from '../support/installed';
import { dropNode, Editor, openDialog, openEditor } from '../support/editor';
import { BAD_VALUES, BadValue } from '../support/bad-values';
import { startNodeRed, NodeRedProcess } from '../../scripts/lib/node-red-process';
import { freePort } from '../../scripts/lib/net-util';

/** A config node's row is typed into its dialog, opened from a node that uses it: which node, property and field. */
const CONFIG_ROWS: Record<string, { user: string; property: string; field: string }> = {
  'edge-modbus-device': { user: 'edge-sensor', property: 'device', field: 'host' },
  'edge-mqtt-broker': { user: 'edge-uplink', property: 'broker', field: 'url' },
};

/** The node a row is typed into, dropped from the palette, with its dialog open at the right source. */
async function dialogFor(page: Page, row: BadValue): Promise<void> {
  const config = CONFIG_ROWS[row.type];
  const type = config?.user ?? row.type;
  const id = await dropNode(page, type, 300, 200);
  await openDialog(page, id, '#node-dialog-ok');
  if (type === 'edge-sensor') await page.selectOption('#node-input-source', row.source ?? 'modbus');
  if (config) {
    await page.click(`#node-input-btn-${config.property}-add`);
    await page.waitForSelector(`#node-config-input-${config.field}`);
  }
}

/** The input a row names: a field of the dialog (or of the config dialog over it), or a cell of a list's first row. */
async function inputFor(page: Page, row: BadValue): Promise<Locator> {
  if (!row.cell) return page.locator(CONFIG_ROWS[row.type] ? `#node-config-input-${row.field}` : `#node-input-${row.field}`);
  const first = page.locator(`#node-input-${row.field}-container li`).first();
  const cell = first.locator(`.edge-cell-${row.cell}`);
  if (!(await cell.isVisible())) await first.locator('.edge-row-more').click();
  return cell;
}

/** What the editor says about an input: Node-RED's tooltip for a field, the cell's own for a list cell. */
async function tooltipOf(page: Page, input: Locator, row: BadValue): Promise<string> {
  if (row.cell) return (await input.getAttribute('title')) ?? '';
  const tip = page.locator('.red-ui-popover:visible').last();
  // the tooltip opens on the pointer entering the field: a dialog still sliding in can move the field under a
  // pointer that is already there, and no enter event comes, so the pointer leaves and enters again
  for (let attempt = 1; ; attempt++) {
    await page.mouse.move(0, 0);
    await input.hover();
    try {
      await tip.waitFor({ timeout: 5000 });
      return (await tip.innerText()).trim();
    } catch (err) {
      if (attempt === 5) throw err;
    }
  }
}

describe('e2e: the editor catches the bad-value table before deploy (Chromium)', function () {
  this.timeout(SETUP_TIMEOUT_MS);
  let red: NodeRedProcess;
  let editor: Editor;

  before(async function () {
    const userDir = await installedUserDir();
    red = await startNodeRed({ userDir, port: await freePort(), output: path.join(userDir, 'node-red-editor-rules.log'), flows: [] });
    editor = await openEditor(red.url);
    // leaving a page with undeployed changes asks first: the answer is yes
    editor.page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    await editor?.close('editor-rules.png');
    await red?.stop();
  });

  afterEach(async () => {
    // each row starts from the deployed (empty) flow
    await editor.page.reload();
    await editor.page.waitForSelector('.red-ui-palette-node[data-palette-type="edge-sensor"]');
  });

  for (const row of BAD_VALUES) {
    it(`${row.type} ${row.field}${row.cell ? `.${row.cell}` : ''} = ${JSON.stringify(row.value)}: red, "${row.words}", and Deploy warns`, async () => {
      const { page } = editor;
      await dialogFor(page, row);
      const input = await inputFor(page, row);
      if (row.good) {
        await input.fill(row.good);
        await input.press('Tab');
      }
      assert.equal(await input.evaluate((el) => el.classList.contains('input-error')), false, 'not red before the bad value');
      await input.fill(row.value);
      await input.press('Tab');
      await page.waitForFunction((el) => el!.classList.contains('input-error'), await input.elementHandle());
      assert.equal(await tooltipOf(page, input, row), row.words);

      const config = CONFIG_ROWS[row.type];
      if (config) {
        await page.click('#node-config-dialog-ok');
        await page.waitForSelector(`#node-config-input-${config.field}`, { state: 'detached' });
      }
      await page.click('#node-dialog-ok');
      await page.waitForSelector('#node-dialog-ok', { state: 'detached' });
      await page.click('#red-ui-header-button-deploy');
      const warning = page.locator('.red-ui-notification:has-text("not properly configured")');
      await warning.waitFor();
      await warning.locator('button', { hasText: 'Cancel' }).click();
    });
  }

  it('raised no page error and logged no console error', () => {
    assert.deepEqual(editor.problems, []);
  });
});

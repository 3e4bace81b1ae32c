import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { check, RULES } from '../../../nodes/core/editor/editor-rules';
import { BAD_VALUES, DEFAULT_CHANNEL, DEFAULT_POINT } from '../../support/bad-values';

const repo = path.resolve(__dirname, '..', '..', '..', '..');

/** A node's defaults as its editor file declares them (the values a node dropped from the palette has). */
function paletteDefaults(type: string): Record<string, unknown> {
  const html = fs.readFileSync(path.join(repo, 'nodes', type, `${type}.html`), 'utf8');
  const script = html.split('<script type="text/javascript">')[1].split('</script>')[0];
  let definition: { defaults: Record<string, { value: unknown }> } | undefined;
  const sandbox = {
    EdgeEditor: { define: () => undefined, list: () => undefined },
    RED: { nodes: { registerType: (_t: string, d: typeof definition) => { definition = d; } }, validators: {} },
    $: () => ({}),
  };
  vm.runInNewContext(script, sandbox);
  return Object.fromEntries(Object.entries(definition!.defaults).map(([k, v]) => [k, v.value]));
}

describe('core: the editor rules', () => {
  it('every node type of the package has rules, and a node as the palette gives it has no problem', () => {
    assert.deepEqual(Object.keys(RULES).sort(), ['edge-aggregate', 'edge-alarm', 'edge-filter', 'edge-infer', 'edge-ingest', 'edge-modbus-device', 'edge-model-update',
      'edge-mqtt-broker', 'edge-sensor', 'edge-uplink']);
    for (const type of Object.keys(RULES)) {
      const defaults = paletteDefaults(type);
      // a model update's URL is the user's to give: that it is asked for is the point
      const needed = type === 'edge-model-update' ? { url: 'http://registry/m/manifest.json' } : {};
      assert.deepEqual(check(type, { ...defaults, ...needed }), [], type);
    }
  });

  it('places each value of the bad-value table on its field, or on its cell of the list', () => {
    for (const row of BAD_VALUES) {
      const def: Record<string, unknown> = { ...paletteDefaults(row.type), source: row.source };
      if (row.cell) def[row.field] = [{ ...(row.field === 'points' ? DEFAULT_POINT : DEFAULT_CHANNEL), [row.cell]: row.value }];
      else def[row.field] = row.value;
      if (row.type === 'edge-model-update' && row.field !== 'url') def.url = 'http://registry/m';
      const placed = check(row.type, def);
      assert.equal(placed.length, 1, `${row.type} ${row.field}: ${JSON.stringify(placed)}`);
      assert.deepEqual([placed[0].field, placed[0].row, placed[0].cell], [row.field, row.cell ? 0 : undefined, row.cell], `${row.type} ${row.field}`);
    }
  });

  it('judges only the fields of the chosen source and options (an MQTT filter does not matter to a Modbus sensor)', () => {
    assert.deepEqual(check('edge-sensor', { source: 'modbus', interval: 1, points: [DEFAULT_POINT], subscription: 'a/#/b' }), []);
    assert.deepEqual(check('edge-filter', { outlier: 'none', outlierWindow: 'x' }), []);
    assert.deepEqual(check('edge-filter', { outlier: 'mad', outlierWindow: 'x' }).map((p) => p.field), ['outlierWindow']);
    assert.deepEqual(check('edge-filter', { min: '5', max: '1' }).map((p) => p.field), ['max']);
    assert.deepEqual(check('unknown-type', { anything: 1 }), []);
  });

  it('the bundle the editor loads holds these rules and runs without Node.js', () => {
    const bundle = fs.readFileSync(path.join(repo, 'resources', 'edge-editor.js'), 'utf8');
    const window: Record<string, unknown> = {};
    vm.runInNewContext(bundle, { window });
    const editor = window.EdgeEditor as { validator(type: string, field: string): (this: unknown, v: unknown) => boolean | string };
    const node = { type: 'edge-uplink', _def: { defaults: { topic: {} } }, _: (key: string) => `<${key}>` };
    assert.equal(editor.validator('edge-uplink', 'topic').call(node, 'a/#'), '<edge-uplink.errors.topicTemplate>');
    assert.equal(editor.validator('edge-uplink', 'topic').call(node, 'site1/${topic}'), true);
  });
});

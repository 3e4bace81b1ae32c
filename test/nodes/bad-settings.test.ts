/**
 * The bad-value table at run time: each value, deployed in a real Node-RED runtime, is refused at deploy with the
 * very words the editor shows for it (test/e2e/editor-rules.test.ts walks the same table through the editor).
 */
import assert from 'node:assert/strict';
import { BAD_VALUES, BadValue, DEFAULT_CHANNEL, DEFAULT_POINT } from '../support/bad-values';
import { errors, helper, lastStatus, load, runtimeWithStateDir } from '../support/red';

/** The node of a table row as the palette gives it, with the one bad value in it, and what it needs around it. */
function flowOf(row: BadValue): { flow: object[]; judged: string } {
  const device = { id: 'device', type: 'edge-modbus-device', host: '127.0.0.1', port: '502', unitId: '1', timeout: '1000' };
  const broker = { id: 'broker', type: 'edge-mqtt-broker', url: 'mqtt://127.0.0.1:1' };
  const model = { id: 'model', type: 'edge-model', source: 'store', model: 'm' };
  const bad = { [row.field]: row.value };
  switch (row.type) {
    case 'edge-sensor': {
      const sensor: Record<string, unknown> = { id: 'n', type: 'edge-sensor', source: row.source, interval: '1', broker: 'broker', device: 'device', subscription: 'plant/+/x' };
      if (row.cell) {
        const first = row.field === 'points' ? DEFAULT_POINT : DEFAULT_CHANNEL;
        sensor[row.field] = [{ ...first, [row.cell]: row.value }];
      } else {
        Object.assign(sensor, bad);
      }
      if (row.source === 'modbus' && !row.cell) sensor.points = [DEFAULT_POINT];
      return { flow: [sensor, device, broker], judged: 'n' };
    }
    case 'edge-modbus-device':
      return { flow: [{ ...device, ...bad }], judged: 'device' };
    case 'edge-mqtt-broker':
      // a broker's problem is said by each node on it, in the same words
      return { flow: [{ id: 'n', type: 'edge-uplink', broker: 'broker' }, { ...broker, ...bad }], judged: 'n' };
    case 'edge-uplink':
      return { flow: [{ id: 'n', type: 'edge-uplink', broker: 'broker', ...bad }, broker], judged: 'n' };
    case 'edge-ingest':
      return { flow: [{ id: 'n', type: 'edge-ingest', broker: 'broker', ...bad }, broker], judged: 'n' };
    case 'edge-model-update':
      return { flow: [{ id: 'n', type: 'edge-model-update', model: 'model', source: 'http', url: 'http://registry.example/m/manifest.json', requireSignature: false, ...bad }, model], judged: 'n' };
    case 'edge-infer':
      // drift is watched by default (the palette's "samples")
      return { flow: [{ id: 'n', type: 'edge-infer', model: 'model', drift: 'samples', ...bad }, model], judged: 'n' };
    case 'edge-alarm':
      return { flow: [{ id: 'n', type: 'edge-alarm', alarms: [{ id: 'high value', path: 'payload', kind: 'high', limit: 80, priority: 700 }], persist: false, ...bad }], judged: 'n' };
    default:
      throw new Error(`no flow for ${row.type}`);
  }
}

describe('nodes: the bad-value table at deploy', function () {
  this.timeout(20_000);
  runtimeWithStateDir('edge-bad-settings-');
  afterEach(() => helper.unload());

  for (const row of BAD_VALUES) {
    it(`${row.type} ${row.field}${row.cell ? `.${row.cell}` : ''} = ${JSON.stringify(row.value)}: "${row.words}"`, async () => {
      const { flow, judged } = flowOf(row);
      await load(flow);
      const said = errors(judged).map((e) => e[0]);
      assert.equal(said.length, 1, `one error at deploy, got ${JSON.stringify(said)}`);
      assert.ok(said[0].endsWith(row.words), `${said[0]}\n  should end with\n${row.words}`);
      if (row.type !== 'edge-modbus-device') assert.equal(lastStatus(judged)?.text, 'config error');
    });
  }
});

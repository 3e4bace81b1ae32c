/**
 * The decoder the README gives consumers, run as it is printed: it must read every format edge-uplink sends and
 * give what the suite's own decodePublish gives.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { StoredRecord } from '../../../nodes/core/uplink/durable-queue';
import { BatchFormat, decodePublish, planPublishes } from '../../../nodes/core/uplink/uplink-batch';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

const README = path.resolve(__dirname, '..', '..', '..', '..', 'README.md');

function readmeDecoder(): (payload: Buffer) => unknown[] {
  const text = fs.readFileSync(README, 'utf8');
  const code = /<!-- decoder -->\n```js\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(code, 'the README has the decoder block');
  const context = vm.createContext({ require, Buffer });
  vm.runInContext(`${code}\nglobalThis.decodeEdgeBatch = decodeEdgeBatch;`, context);
  return (context as { decodeEdgeBatch: (p: Buffer) => unknown[] }).decodeEdgeBatch;
}

describe('core: the README\'s decoder', () => {
  it('reads JSON, NDJSON, both gzipped, and columns, as decodePublish does', () => {
    const decode = readmeDecoder();
    const random = seededRandom(21);
    const records: StoredRecord[] = Array.from({ length: 150 }, (_, i) => {
      const payload = [
        { temperature: { count: 600, mean: 61 + random(), max: 63.2 }, vibration: { count: 600, mean: 2.2 } },
        { score: random() * 10, anomaly: true, threshold: 6.3, label: 'anomaly' },
        { type: 'transition', alarmId: 'high temperature', state: 'unacknowledged', active: true, value: 71.1, nested: { a: [1, { b: null }] } },
        42.5, 'text', null, {}, [1, 2],
      ][i % 8];
      const body = JSON.stringify(payload);
      return { id: 500 + i + (i > 70 ? 3 : 0), topic: i % 3 ? 'plant1/pump7' : 'alarm/high temperature', ts: 1_700_000_000_000 + i * 1000, enqueued: 0, body, bytes: body.length };
    });
    const variants: Array<[BatchFormat, boolean]> = [['json', false], ['json', true], ['ndjson', false], ['ndjson', true], ['columns', false]];
    for (const [format, gzip] of variants) {
      const plan = planPublishes(records, 'EPOCH', () => 'cloud/site1', { maxRecords: 1000, maxPacketBytes: 1_000_000, format, gzip });
      const payload = plan.publishes[0].payload;
      // compared as JSON text: the vm's objects have another realm's prototypes
      assert.equal(JSON.stringify(decode(payload)), JSON.stringify(decodePublish(payload)), `${format}${gzip ? ' gzip' : ''}`);
      assert.equal(decode(payload).length, 150);
    }
  });
});

import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import type { StoredRecord } from '../../../nodes/core/uplink/durable-queue';
import { decodeColumns, encodeColumns, packColumns, unpackColumns } from '../../../nodes/core/uplink/columns';
import { BatchFormat, decodePublish, envelope, planPublishes } from '../../../nodes/core/uplink/uplink-batch';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

const stored = (id: number, topic: string, ts: number, payload: unknown): StoredRecord => {
  const body = JSON.stringify(payload);
  return { id, topic, ts, enqueued: 0, body, bytes: topic.length + body.length };
};

/** Payloads of every kind a flow sends: statistics, nested objects, arrays, text, scalars, empty objects. */
function payloadOf(random: () => number, i: number): unknown {
  const kinds: Array<() => unknown> = [
    () => ({ vibration: { mean: random() * 10, max: 12.5, count: 20 }, temperature: { mean: 61 + random(), max: null } }),
    () => ({ score: random(), anomaly: random() < 0.5, threshold: 0.31, label: 'bearing' }),
    () => [1, 2, { a: 3 }],
    () => 'text with "quotes" and ü',
    () => Math.round(random() * 1e6) / 7,
    () => null,
    () => true,
    () => ({}),
    () => ({ empty: {}, list: [], 'dotted.key': 1, 'a"b': { 'c\\d': -0.5 } }),
    () => ({ ['__proto__']: { polluted: true }, constructor: 'x' }),
    () => ({ deep: { a: { b: { c: { d: [i] } } } } }),
  ];
  return kinds[i % kinds.length]();
}

describe('core: the column layout of a batch', () => {
  it('gives back every record exactly: seq, ts, topic and payload, for every kind of payload', () => {
    const random = seededRandom(11);
    const records = Array.from({ length: 300 }, (_, i) => ({
      // ids with gaps (others in flight or dropped), time going back and forth, several topics
      seq: 1000 + i + (i > 100 ? 7 : 0) + (i > 200 ? 30 : 0),
      ts: 1_700_000_000_000 + i * 100 - (i % 13 === 0 ? 5000 : 0),
      topic: ['plant1/pump7', 'plant1/pump7/alarms', 'plant1/pump8'][i % 3],
      payload: JSON.parse(JSON.stringify(payloadOf(random, i))) as unknown,
    }));
    const back = decodeColumns(encodeColumns('E9', records));
    assert.equal(back.epoch, 'E9');
    assert.deepEqual(back.records, records);
    // "__proto__" is the payload's own key, as JSON.parse makes it, and Object.prototype is untouched
    const p = back.records[9].payload as Record<string, unknown>;
    assert.deepEqual(Object.keys(p), ['__proto__', 'constructor']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    // and the keys come back in their order
    assert.deepEqual(Object.keys(back.records[8].payload as object), ['empty', 'list', 'dotted.key', 'a"b']);
  });

  it('writes each key once per shape, not per record, ids as runs and times as differences', () => {
    const records = Array.from({ length: 60 }, (_, i) => ({
      seq: 1 + i, ts: 1_700_000_000_000 + i * 60_000, topic: 'plant1/pump7',
      payload: { vibration: { mean: 2.2 + i / 100, max: 3 }, temperature: { mean: 61.5, max: 63 } },
    }));
    const block = packColumns('E', records);
    assert.deepEqual(block.seq, [[1, 60]]);
    assert.deepEqual(block.ts.slice(0, 3), [1_700_000_000_000, 60_000, 60_000]);
    assert.deepEqual(block.topics, ['plant1/pump7']);
    assert.equal(block.topic, undefined, 'one topic: no index column');
    assert.equal(block.shapes.length, 1);
    assert.deepEqual(block.shapes[0].paths, [['vibration', 'mean'], ['vibration', 'max'], ['temperature', 'mean'], ['temperature', 'max']]);
    assert.deepEqual(block.shapes[0].columns[1], Array(60).fill(3));
    const text = JSON.stringify(block);
    // once per leaf path of the shape, not once per record
    assert.equal(text.split('"vibration"').length - 1, 2, 'vibration: in its two paths only');
    assert.equal(text.split('"mean"').length - 1, 2, 'mean: in its two paths only');
    assert.deepEqual(unpackColumns(block), records);
  });

  it('refuses a block of another version or format, naming both', () => {
    const block = { ...packColumns('E', [{ seq: 1, ts: 1, topic: 't', payload: 1 }]), v: 2 };
    assert.throws(() => unpackColumns(block), /not a version 1 column block \(format "columns", v 2\)/);
    assert.throws(() => decodeColumns(zlib.deflateSync('{"v":1,"format":"rows"}')), /format "rows"/);
  });

  it('decodePublish reads every format edge-uplink sends and gives the same envelopes', () => {
    const random = seededRandom(3);
    const records = Array.from({ length: 120 }, (_, i) => stored(i + 1, i % 4 ? 'plant1/pump7' : 'plant1/pump7/alarms', 1_700_000_000_000 + i * 250, payloadOf(random, i)));
    const expected = records.map((r) => envelope('E1', r));
    const variants: Array<[BatchFormat, boolean]> = [['json', false], ['json', true], ['ndjson', false], ['ndjson', true], ['columns', false]];
    const sizes: Record<string, number> = {};
    for (const [format, gzip] of variants) {
      const plan = planPublishes(records, 'E1', () => 'cloud', { maxRecords: 1000, maxPacketBytes: 1_000_000, format, gzip });
      assert.equal(plan.publishes.length, 1);
      const payload = plan.publishes[0].payload;
      assert.deepEqual(decodePublish(payload), expected, `${format}${gzip ? ' gzip' : ''}`);
      sizes[`${format}${gzip ? '+gzip' : ''}`] = payload.length;
    }
    assert.ok(sizes.columns < sizes['json+gzip'], `columns ${sizes.columns} B < gzipped JSON ${sizes['json+gzip']} B`);
    assert.throws(() => decodePublish(Buffer.from('hello')), /not an edge-uplink batch/);
  });

  it('keeps each columns publish within the packet limit, splitting a batch that is too big', () => {
    const random = seededRandom(8);
    const records = Array.from({ length: 500 }, (_, i) => stored(i + 1, 't', i, { v: random(), text: 'x'.repeat(Math.floor(random() * 200)) + random() }));
    const plan = planPublishes(records, 'E', () => 't', { maxRecords: 500, maxPacketBytes: 4096, format: 'columns', gzip: false });
    assert.ok(plan.publishes.length > 1);
    for (const p of plan.publishes) assert.ok(p.payload.length <= 4096, `${p.payload.length} bytes`);
    assert.deepEqual(plan.publishes.flatMap((p) => decodePublish(p.payload).map((e) => e.seq)), records.map((r) => r.id));
  });
});

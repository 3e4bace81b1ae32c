import assert from 'node:assert/strict';
import type { StoredRecord } from '../../../nodes/core/uplink/durable-queue';
import { BatchOptions, decodePublish, envelope, envelopeText, filterFields, planPublishes, TokenBucket } from '../../../nodes/core/uplink/uplink-batch';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

const record = (id: number, topic: string, payload: unknown): StoredRecord => {
  const body = JSON.stringify(payload);
  return { id, topic, ts: 1000 + id, enqueued: 0, body, bytes: topic.length + body.length };
};
const opts = (o: Partial<BatchOptions> = {}): BatchOptions => ({ maxRecords: 100, maxPacketBytes: 100_000, format: 'json', gzip: false, ...o });

describe('core: uplink batches', () => {
  it('writes an envelope around the stored body as JSON.stringify of the envelope would', () => {
    const records = [
      { id: 1, ts: 1_700_000_000_000, enqueued: 0, bytes: 0, topic: 'plant1/pump7', body: JSON.stringify({ value: 61.2, unit: '°C', nested: { a: [1, 2, null] } }) },
      { id: 2 ** 40, ts: 1.5, enqueued: 0, bytes: 0, topic: 'quote"back\\slash/\u2028/ü', body: JSON.stringify('text with "quotes"') },
      { id: 3, ts: -1, enqueued: 0, bytes: 0, topic: '', body: 'null' },
    ];
    for (const r of records) {
      assert.equal(envelopeText('e7', r), JSON.stringify(envelope('e7', r)));
      assert.deepEqual(JSON.parse(envelopeText('e7', r)), envelope('e7', r));
    }
  });

  it('puts many records in one publish per topic, in order, in envelopes the cloud can de-duplicate', () => {
    const records = [record(1, 'a', 1), record(2, 'b', { x: 2 }), record(3, 'a', 3), record(4, 'a', 4)];
    const plan = planPublishes(records, 'E', (r) => `cloud/${r.topic}`, opts());
    assert.deepEqual(plan.publishes.map((p) => [p.topic, p.ids]), [['cloud/a', [1, 3, 4]], ['cloud/b', [2]]]);
    assert.deepEqual(decodePublish(plan.publishes[0].payload), [
      { id: 'E:1', seq: 1, ts: 1001, topic: 'a', payload: 1 }, { id: 'E:3', seq: 3, ts: 1003, topic: 'a', payload: 3 },
      { id: 'E:4', seq: 4, ts: 1004, topic: 'a', payload: 4 },
    ]);
    const nd = planPublishes(records, 'E', () => 'all', opts({ format: 'ndjson' }));
    assert.equal(nd.publishes[0].payload.toString().split('\n').length, 5, 'four lines and the final newline');
    assert.deepEqual(decodePublish(nd.publishes[0].payload).map((e) => e.seq), [1, 2, 3, 4]);
  });

  it('never exceeds the packet limit or the record limit, gzipped or not, and reports what cannot fit at all', () => {
    const random = seededRandom(5);
    for (const gzip of [false, true]) {
      for (const format of ['json', 'ndjson'] as const) {
        const records = Array.from({ length: 400 }, (_, i) => record(i + 1, `t${i % 3}`, { v: random(), text: 'x'.repeat(Math.floor(random() * 300)) }));
        records.push(record(401, 't0', { huge: 'y'.repeat(5000) }));
        const o = opts({ maxRecords: 25, maxPacketBytes: 2048, gzip, format });
        const plan = planPublishes(records, 'E', (r) => r.topic, o);
        for (const p of plan.publishes) {
          assert.ok(p.payload.length <= 2048, `${p.payload.length} bytes (gzip ${gzip})`);
          assert.ok(p.ids.length <= 25);
          assert.deepEqual(decodePublish(p.payload).map((e) => e.seq), p.ids);
        }
        const sent = plan.publishes.flatMap((p) => p.ids).sort((a, b) => a - b);
        assert.deepEqual(plan.tooLarge, gzip ? [] : [401], 'gzip fits the repetitive record; plain does not');
        assert.equal(sent.length + plan.tooLarge.length, 401, 'every record planned once');
        for (const t of ['t0', 't1', 't2']) {
          const order = plan.publishes.filter((p) => p.topic === t).flatMap((p) => p.ids);
          assert.deepEqual(order, [...order].sort((a, b) => a - b), `order of ${t}`);
        }
      }
    }
  });

  it('keeps only the allowed fields and removes the denied ones before anything is stored', () => {
    const payload = { temperature: 61, vibration: 2.1, raw: { waveform: [1, 2, 3], rms: 2 }, operator: 'jane' };
    assert.deepEqual(filterFields(payload, ['temperature', 'raw.rms'], []), { temperature: 61, raw: { rms: 2 } });
    assert.deepEqual(filterFields(payload, [], ['operator', 'raw.waveform']), { temperature: 61, vibration: 2.1, raw: { rms: 2 } });
    assert.deepEqual(payload.raw.waveform, [1, 2, 3], 'the message itself is not changed');
    assert.equal(filterFields(42, ['x'], []), 42);
  });

  it('paces a backlog with a token bucket', () => {
    const bucket = new TokenBucket(100, 10, 0);
    assert.equal(bucket.take(10, 0), 0);
    assert.equal(bucket.take(5, 0), 50, 'five more units need 50 ms at 100/s');
    assert.equal(bucket.take(5, 50), 0);
    assert.equal(bucket.take(50, 50), 100, 'more than the burst waits for a full bucket');
    assert.equal(bucket.take(50, 150), 0);
    assert.equal(new TokenBucket(0, 0).take(1_000_000), 0, 'no limit');
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Ingest } from '../../../nodes/core/ingest/ingest';
import { IngestLedger } from '../../../nodes/core/ingest/ingest-ledger';
import { ingestOptions } from '../../../nodes/core/ingest/ingest-settings';
import { planPublishes } from '../../../nodes/core/uplink/uplink-batch';
import type { StoredRecord } from '../../../nodes/core/uplink/durable-queue';
import { KeyedError } from '../../../nodes/core/shared/errors';
import { MAX_INFLATED_BYTES } from '../../../nodes/core/uplink/columns';

describe('core: ingest', () => {
  let dir: string;
  let ledger: IngestLedger;
  let ingest: Ingest;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ingest-'));
    ledger = new IngestLedger(path.join(dir, 'l.db'), { window: 1000 });
    ingest = new Ingest(ledger);
  });
  afterEach(() => {
    ledger.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const stored = (n: number, from = 1): StoredRecord[] => Array.from({ length: n }, (_, i) => ({
    id: from + i, topic: i % 2 ? 'pump/temp' : 'alarm/pump', ts: 1_700_000_000_000 + i * 100, enqueued: 0, bytes: 0,
    body: JSON.stringify({ v: from + i, unit: 'C' }),
  }));

  for (const [format, gzip] of [['json', false], ['json', true], ['ndjson', false], ['ndjson', true], ['columns', false]] as const) {
    it(`unpacks ${format}${gzip ? ' gzipped' : ''} batches into records, each once, with the gateway and id`, () => {
      const plan = planPublishes(stored(30), 'E1', () => 'edge/gw-7', { maxRecords: 10, maxPacketBytes: 1_000_000, format, gzip, gateway: 'gw-7' });
      assert.equal(plan.publishes.length, 3);
      const out = plan.publishes.flatMap((p) => ingest.receive(p.topic, p.payload).records);
      assert.equal(out.length, 30);
      assert.deepEqual(out[1], { topic: 'pump/temp', payload: { v: 2, unit: 'C' }, ts: 1_700_000_000_100, gateway: 'gw-7', id: 'E1:2', epoch: 'E1', seq: 2 });
      // the same publishes again (a resend after a lost acknowledgement): nothing
      const again = plan.publishes.map((p) => ingest.receive(p.topic, p.payload));
      assert.deepEqual([again.flatMap((r) => r.records).length, again.reduce((a, r) => a + r.duplicates, 0)], [0, 30]);
    });
  }

  it('a publish that is no batch is refused in words, with nothing let through', () => {
    // the last two are compression bombs: under 100 KiB that inflate beyond the 64 MiB a publish may inflate to
    const bomb = Buffer.alloc(MAX_INFLATED_BYTES + 1_048_576, 0x20);
    const bombs = [zlib.gzipSync(bomb), zlib.deflateSync(bomb)];
    for (const payload of [Buffer.from('hello'), Buffer.from([0x78, 0x9c, 1, 2, 3]), zlib.gzipSync('{"a":'), Buffer.alloc(0), ...bombs]) {
      assert.throws(() => ingest.receive('edge/x', payload), (err: unknown) => err instanceof KeyedError && err.key === 'undecodable' && err.vars?.bytes === payload.length);
    }
    assert.equal(ingest.undecodable, 6);
    assert.equal(ledger.stats().accepted, 0);
  });

  it('leaves out records without an edge-uplink envelope, counted, and takes the rest', () => {
    const list = [
      { id: 'E:1', seq: 1, ts: 5, topic: 't', payload: 1 },
      { id: 'no-seq', topic: 't', payload: 2 },
      { id: 'E:x', topic: 't', payload: 3 },
      { id: 'E:2', seq: 3, topic: 't', payload: 4 },
      { id: 'E:0', topic: 't', payload: 5 },
      { id: 'E:4', topic: 7, payload: 6 },
      null,
      { id: 'E:5', topic: 't', payload: 7, gateway: 12 },
      { id: 'E:6', topic: 't', payload: 8 },
    ];
    const r = ingest.receive('edge/x', Buffer.from(JSON.stringify(list)), 99);
    assert.deepEqual(r.records.map((x) => [x.payload, x.ts, x.gateway]), [[1, 5, undefined], [8, 99, undefined]]);
    assert.deepEqual(r.events, [{ kind: 'invalid', topic: 'edge/x', count: 7 }, { kind: 'epoch', gateway: '', epoch: 'E' }]);
  });

  it('settings: the editor and the runtime name the same problems', () => {
    assert.deepEqual(ingestOptions({ topic: '', qos: '', window: '' }), { subscription: 'edge/+', qos: 1, window: 100_000, ledger: undefined, holdMs: 0, problems: [] });
    assert.equal(ingestOptions({ topic: 'edge/#', qos: '2', window: '10', group: 'cloud-a', ledger: 'site' }).subscription, '$share/cloud-a/edge/#');
    const keys = (d: object) => ingestOptions({ topic: 'edge/+', qos: '1', window: '5', ...d }).problems.map((p) => p.key);
    assert.deepEqual(keys({ topic: 'a/#/b' }), ['filterHash']);
    assert.deepEqual(keys({ topic: '$share/g/edge/+' }), ['topicShared']);
    assert.deepEqual(keys({ qos: '0' }), ['qos']);
    assert.deepEqual(keys({ group: 'a/b' }), ['group']);
    assert.deepEqual(keys({ window: '0' }), ['window']);
    assert.deepEqual(keys({ window: 'many' }), ['window']);
    assert.deepEqual(keys({ ledger: '../x' }), ['ledger']);
    assert.deepEqual([keys({ holdMs: '-1' }), keys({ holdMs: '600001' }), keys({ holdMs: '1.5' }), keys({ holdMs: '600000' })], [['hold'], ['hold'], ['hold'], []]);
  });

  describe('restoring order', () => {
    const HOLD_MS = 5000;
    let ordered: Ingest;
    beforeEach(() => {
      ordered = new Ingest(ledger, HOLD_MS);
    });
    /** publishes of the records with these ids, one per group, as the uplink would make them */
    const publishes = (...groups: number[][]) => groups.map((ids) => {
      const all = stored(Math.max(...ids));
      const plan = planPublishes(ids.map((id) => all[id - 1]), 'E1', () => 'edge/gw-1', { maxRecords: 1000, maxPacketBytes: 1_000_000, format: 'columns', gzip: false, gateway: 'gw-1' });
      return plan.publishes[0];
    });
    const seqs = (r: { records: Array<{ seq: number }> }) => r.records.map((x) => x.seq);

    it('holds what has an earlier id missing, and sends it on in id order once the hole fills', () => {
      const [a, b, c] = publishes([1, 2], [5, 6], [3, 4]);
      const t0 = 1_000_000;
      assert.deepEqual(seqs(ordered.receive(a.topic, a.payload, t0)), [1, 2]);
      const held = ordered.receive(b.topic, b.payload, t0 + 10);
      assert.deepEqual([seqs(held), held.held, ledger.stats().held], [[], 2, 2]);
      // a resend of a held record is a duplicate, still held once
      assert.deepEqual(ordered.receive(b.topic, b.payload, t0 + 20).duplicates, 2);
      const filled = ordered.receive(c.topic, c.payload, t0 + 30);
      assert.deepEqual([seqs(filled), filled.released, ledger.stats().held], [[3, 4, 5, 6], 2, 0]);
      // each topic in the order its records were taken
      assert.deepEqual(filled.records.filter((r) => r.topic === 'pump/temp').map((r) => r.payload), [{ v: 4, unit: 'C' }, { v: 6, unit: 'C' }]);
      assert.deepEqual(ordered.releaseDue(t0 + 60_000).records, []);
    });

    it('waits at most the hold time: then the missing ids are a gap, and one that still comes goes on once, late', () => {
      const [a, b, late] = publishes([1], [3, 4], [2]);
      const t0 = 1_000_000;
      ordered.receive(a.topic, a.payload, t0);
      ordered.receive(b.topic, b.payload, t0 + 100);
      assert.deepEqual(ordered.releaseDue(t0 + 100 + HOLD_MS - 1).records, [], 'not before its time');
      const due = ordered.releaseDue(t0 + 100 + HOLD_MS);
      assert.deepEqual([seqs(due), due.released, due.events], [[3, 4], 2, [{ kind: 'gap', gateway: 'gw-1', epoch: 'E1', from: 2, to: 2, count: 1 }]]);
      const after = ordered.receive(late.topic, late.payload, t0 + 10_000);
      assert.deepEqual([seqs(after), after.records[0].late, ledger.stats().gaps], [[2], true, 1]);
      assert.deepEqual(ordered.receive(late.topic, late.payload, t0 + 10_001).duplicates, 1);
    });

    it('any arrival order, with resends: every id once, in id order, nothing left held', () => {
      let seed = 7;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      for (let round = 0; round < 20; round++) {
        ledger.close();
        fs.rmSync(path.join(dir, 'l.db'), { force: true });
        ledger = new IngestLedger(path.join(dir, 'l.db'), { window: 1000 });
        ordered = new Ingest(ledger, HOLD_MS);
        // 60 ids in groups of 1-5, shuffled, a fifth of them sent twice
        const groups: number[][] = [];
        for (let id = 1; id <= 60;) {
          const n = 1 + Math.floor(random() * 5);
          groups.push(Array.from({ length: Math.min(n, 61 - id) }, (_, i) => id + i));
          id += n;
        }
        const sent = groups.flatMap((g) => (random() < 0.2 ? [g, g] : [g])).sort(() => random() - 0.5);
        const out = publishes(...sent).flatMap((p) => seqs(ordered.receive(p.topic, p.payload, 1000)));
        assert.deepEqual(out, Array.from({ length: 60 }, (_, i) => i + 1), `round ${round}`);
        assert.equal(ledger.stats().held, 0);
      }
    });

    it('held records survive a restart of the ingest, and go on after it', () => {
      const [a, b] = publishes([1], [3]);
      ordered.receive(a.topic, a.payload, 1000);
      ordered.receive(b.topic, b.payload, 1000);
      ledger.close();
      ledger = new IngestLedger(path.join(dir, 'l.db'), { window: 1000 });
      const again = new Ingest(ledger, HOLD_MS);
      assert.equal(ledger.stats().held, 1);
      assert.deepEqual(again.releaseDue(1000 + HOLD_MS).records.map((r) => [r.id, r.topic, r.payload]), [['E1:3', 'alarm/pump', { v: 3, unit: 'C' }]]);
      assert.equal(ledger.stats().held, 0);
    });
  });
});

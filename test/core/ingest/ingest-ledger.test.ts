import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestLedger, LedgerEvent, Verdict } from '../../../nodes/core/ingest/ingest-ledger';

describe('core: ingest ledger', () => {
  let dir: string;
  const open: IngestLedger[] = [];
  const ledger = (window = 100, file = 'ledger.db') => {
    const l = new IngestLedger(path.join(dir, file), { window });
    open.push(l);
    return l;
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ledger-'));
  });
  afterEach(() => {
    for (const l of open.splice(0)) l.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const keys = (seqs: number[], gateway = 'gw1', epoch = 'e1') => seqs.map((seq) => ({ gateway, epoch, seq }));
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  it('lets each id through once: a resent publish, a resent part of one, and ids out of order', () => {
    const l = ledger();
    assert.deepEqual(l.admit(keys([1, 2, 3])).verdicts, ['new', 'new', 'new']);
    assert.deepEqual(l.admit(keys([2, 3, 4])).verdicts, ['duplicate', 'duplicate', 'new']);
    assert.deepEqual(l.admit(keys([7, 6, 9])).verdicts, ['new', 'new', 'new']);
    assert.deepEqual(l.admit(keys([5, 6, 8, 9, 7, 10])).verdicts, ['new', 'duplicate', 'new', 'duplicate', 'duplicate', 'new']);
    // within one publish too
    assert.deepEqual(l.admit(keys([11, 11])).verdicts, ['new', 'duplicate']);
    const s = l.stats();
    assert.deepEqual([s.accepted, s.duplicates, s.gaps, s.late, s.epochs, s.streams], [11, 6, 0, 0, 1, 1]);
  });

  it('gives up ids that fall more than the window behind as a gap, reports it, and lets a late one through once', () => {
    const l = ledger(10);
    l.admit(keys([1, 2, 3]));
    // 4 and 5 never come (dropped at the gateway, say); the stream goes on
    const events: LedgerEvent[] = [];
    for (const seq of range(6, 20)) events.push(...l.admit(keys([seq])).events);
    assert.deepEqual(events, [{ kind: 'gap', gateway: 'gw1', epoch: 'e1', from: 4, to: 5, count: 2 }], 'reported once, when 16 is 11 ahead of 5');
    assert.deepEqual(l.admit(keys([4, 4, 5, 3])).verdicts, ['late', 'duplicate', 'late', 'duplicate']);
    const s = l.stats();
    assert.deepEqual([s.accepted, s.duplicates, s.gaps, s.late], [20, 2, 2, 2]);
  });

  it('keeps its decisions across a reopen (an ingest restart)', () => {
    let l = ledger();
    l.admit(keys(range(1, 50)));
    l.admit(keys([60]));
    l.close();
    l = ledger();
    assert.deepEqual(l.admit(keys([50, 51, 60, 61])).verdicts, ['duplicate', 'new', 'duplicate', 'new']);
    assert.equal(l.stats().accepted, 53);
  });

  it('tells a gateway\'s new epoch (its buffer replaced) and keeps gateways and epochs apart', () => {
    const l = ledger();
    assert.deepEqual(l.admit(keys([1, 2])).events, [{ kind: 'epoch', gateway: 'gw1', epoch: 'e1' }]);
    const { verdicts, events } = l.admit([...keys([1, 2], 'gw1', 'e2'), ...keys([1], 'gw2', 'e1')]);
    assert.deepEqual(verdicts, ['new', 'new', 'new'], 'the same ids in another epoch or gateway are other records');
    assert.deepEqual(events, [{ kind: 'epoch', gateway: 'gw1', epoch: 'e2', previous: 'e1' }, { kind: 'epoch', gateway: 'gw2', epoch: 'e1' }]);
    assert.deepEqual([l.stats().epochs, l.stats().streams], [3, 3]);
  });

  it('meets a stream far into its life without counting its history as a gap', () => {
    const l = ledger(100);
    assert.deepEqual(l.admit(keys([5000, 5001, 4999])).verdicts, ['new', 'new', 'duplicate']);
    for (const seq of range(5002, 5300)) l.admit(keys([seq]));
    assert.equal(l.stats().gaps, 0);
  });

  it('two ledgers on one file (two ingest processes on a host) never both let an id through', () => {
    const a = ledger(1000, 'shared.db');
    const b = ledger(1000, 'shared.db');
    const verdicts: Verdict[] = [];
    // alternate: each publish goes to one of them, resends to the other
    for (let seq = 1; seq <= 200; seq++) {
      verdicts.push(...(seq % 2 ? a : b).admit(keys([seq])).verdicts);
      verdicts.push(...(seq % 2 ? b : a).admit(keys([seq])).verdicts);
    }
    assert.equal(verdicts.filter((v) => v === 'new').length, 200);
    assert.equal(verdicts.filter((v) => v === 'duplicate').length, 200);
    assert.equal(a.stats().accepted, 200);
  });

  it('stays small: a long stream with holes keeps a bounded row', () => {
    const l = ledger(200);
    // every tenth id missing: a hole at h is given up once h + 200 has come, so 10 ... 4790 are, by 4999
    for (let seq = 1; seq <= 5_000; seq++) if (seq % 10) l.admit(keys([seq]));
    const s = l.stats();
    assert.deepEqual([s.accepted, s.gaps], [4_500, 479]);
    const db = fs.statSync(path.join(dir, 'ledger.db')).size + fs.statSync(path.join(dir, 'ledger.db-wal')).size;
    assert.ok(db < 8 * 1024 * 1024, `${db} bytes on disk`);
  });
});

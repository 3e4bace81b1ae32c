/**
 * The ingest's ledger: which records of which gateway it has already let through, so a resend (after a lost
 * acknowledgement, a gateway restart, a broker's redelivery) never reaches the flow twice, across ingest restarts.
 *
 * A gateway's uplink numbers its records 1, 2, 3 ... within an epoch (one buffer database). Per (gateway, epoch)
 * the ledger keeps a high-water mark (every id up to it is settled: let through, or given up as a gap) and the
 * ranges of ids let through above it (records that came out of order). Ids that fall more than `window` behind the
 * newest are given up as a gap: counted, and reported. One that still comes later is let through once and counted
 * as late (the last gaps given up are remembered for that).
 *
 * Every decision is taken in one IMMEDIATE transaction per publish, reading the stream's row inside it, so
 * several ingest processes on one host can share one ledger file.
 *
 * Order (an option): a record let through with a hole below it (an earlier id not here yet) is held, in the same
 * transaction, so it survives a restart like the decision does; it goes on, in id order, when the hole fills or
 * when it has been held long enough, and then the hole is given up as a gap (a record that still comes later is
 * let through once, late).
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openChecked, OpenReport } from '../shared/sqlite-file';

export interface LedgerOptions {
  /** how far (in ids) a record may be behind the newest of its stream and still be waited for */
  window: number;
}

/** A record to decide on: its stream and its id within the stream. */
export interface LedgerKey {
  gateway: string;
  epoch: string;
  seq: number;
}

export type Verdict = 'new' | 'late' | 'duplicate';

/** Something about a stream worth an event. */
export type LedgerEvent =
  | { kind: 'epoch'; gateway: string; epoch: string; previous?: string }
  | { kind: 'gap'; gateway: string; epoch: string; from: number; to: number; count: number };

/** A record going on now: one of the publish (its index in the keys) or one held before (as it was stored). */
export type Ready = { at: number } | { record: string };

export interface LedgerStats {
  held: number;
  accepted: number;
  duplicates: number;
  late: number;
  gaps: number;
  epochs: number;
  streams: number;
}

type Range = [number, number];

interface Stream {
  high: number;
  /** ranges let through above high + 1, ascending, disjoint, not touching */
  above: Range[];
  /** the last gaps given up, for a late record */
  gaps: Range[];
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS streams (
    gateway TEXT NOT NULL,
    epoch TEXT NOT NULL,
    high INTEGER NOT NULL,
    above TEXT NOT NULL,
    gaps TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (gateway, epoch)
  );
  CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS held (
    gateway TEXT NOT NULL,
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    record TEXT NOT NULL,
    held_at INTEGER NOT NULL,
    PRIMARY KEY (gateway, epoch, seq)
  );
`;
const COLUMNS: Record<string, string[]> = {
  streams: ['gateway', 'epoch', 'high', 'above', 'gaps', 'first_seen', 'last_seen'],
  counters: ['key', 'value'],
  held: ['gateway', 'epoch', 'seq', 'record', 'held_at'],
};
const COUNTERS = ['accepted', 'duplicates', 'late', 'gaps', 'epochs'] as const;
type Counter = (typeof COUNTERS)[number];
/** gaps remembered per stream for late records; above ranges at most (more: the oldest hole is given up) */
const REMEMBERED_GAPS = 32;
const MAX_RANGES = 4096;

/** Whether `seq` is in one of the ascending ranges; its place when not. */
function find(ranges: Range[], seq: number): { found: boolean; at: number } {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][1] < seq) lo = mid + 1;
    else hi = mid;
  }
  return { found: lo < ranges.length && ranges[lo][0] <= seq, at: lo };
}

/** Adds `seq` (not in any range) at its place, merging with the neighbours it touches. */
function insert(ranges: Range[], at: number, seq: number): void {
  const before = ranges[at - 1];
  const after = ranges[at];
  if (before && before[1] === seq - 1 && after && after[0] === seq + 1) {
    before[1] = after[1];
    ranges.splice(at, 1);
  } else if (before && before[1] === seq - 1) before[1] = seq;
  else if (after && after[0] === seq + 1) after[0] = seq;
  else ranges.splice(at, 0, [seq, seq]);
}

/** Takes `seq` out of the ranges it is in (a late record filling part of a gap). */
function remove(ranges: Range[], at: number, seq: number): void {
  const [lo, hi] = ranges[at];
  if (lo === hi) ranges.splice(at, 1);
  else if (seq === lo) ranges[at][0] = seq + 1;
  else if (seq === hi) ranges[at][1] = seq - 1;
  else ranges.splice(at, 1, [lo, seq - 1], [seq + 1, hi]);
}

export class IngestLedger {
  readonly opened: OpenReport;
  private readonly db: Database.Database;
  private readonly st: Record<string, Database.Statement>;

  constructor(readonly file: string, private readonly o: LedgerOptions) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { db, report } = openChecked(file, SCHEMA, COLUMNS, 'ingest ledger');
    this.db = db;
    this.opened = report;
    // a decision is worth nothing unless it survives a power loss: the broker has been told it is settled
    db.pragma('synchronous = FULL');
    this.st = {
      stream: db.prepare('SELECT high, above, gaps FROM streams WHERE gateway = ? AND epoch = ?'),
      latest: db.prepare('SELECT epoch FROM streams WHERE gateway = ? ORDER BY first_seen DESC LIMIT 1'),
      put: db.prepare(`INSERT INTO streams (gateway, epoch, high, above, gaps, first_seen, last_seen) VALUES (@gateway, @epoch, @high, @above, @gaps, @now, @now)
        ON CONFLICT (gateway, epoch) DO UPDATE SET high = excluded.high, above = excluded.above, gaps = excluded.gaps, last_seen = excluded.last_seen`),
      count: db.prepare('INSERT INTO counters (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = value + excluded.value'),
      counters: db.prepare('SELECT key, value FROM counters'),
      streams: db.prepare('SELECT COUNT(*) AS n FROM streams'),
      hold: db.prepare('INSERT OR IGNORE INTO held (gateway, epoch, seq, record, held_at) VALUES (?, ?, ?, ?, ?)'),
      heldUpTo: db.prepare('SELECT seq, record FROM held WHERE gateway = ? AND epoch = ? AND seq <= ? ORDER BY seq'),
      releaseUpTo: db.prepare('DELETE FROM held WHERE gateway = ? AND epoch = ? AND seq <= ?'),
      due: db.prepare('SELECT gateway, epoch, MAX(seq) AS top FROM held WHERE held_at <= ? GROUP BY gateway, epoch'),
      anyDue: db.prepare('SELECT 1 FROM held WHERE held_at <= ? LIMIT 1'),
      heldCount: db.prepare('SELECT COUNT(*) AS n FROM held'),
    };
  }

  /**
   * Decides on the records of one publish, in one transaction: 'new' and 'late' ones are to be let through (and
   * are settled once this returns), duplicates dropped. Events: a gateway's new epoch, gaps given up.
   */
  admit(keys: LedgerKey[], now = Date.now(), hold?: (at: number) => string): { verdicts: Verdict[]; events: LedgerEvent[]; ready: Ready[] } {
    const verdicts: Verdict[] = [];
    const events: LedgerEvent[] = [];
    const ready: Ready[] = [];
    const run = this.db.transaction(() => {
      // a transaction tried again (the ledger was busy) starts over
      verdicts.length = 0;
      events.length = 0;
      ready.length = 0;
      const touched = new Map<string, { key: LedgerKey; stream: Stream }>();
      const counts: Record<Counter, number> = { accepted: 0, duplicates: 0, late: 0, gaps: 0, epochs: 0 };
      for (const k of keys) {
        const id = `${k.gateway}\u0000${k.epoch}`;
        let entry = touched.get(id);
        if (!entry) {
          entry = { key: k, stream: this.load(k, events, counts) };
          touched.set(id, entry);
        }
        const verdict = this.decide(entry.stream, k, events, counts);
        verdicts.push(verdict);
        if (verdict === 'duplicate') counts.duplicates++;
        else counts.accepted++;
        if (verdict === 'late') counts.late++;
      }
      for (const [id, { key, stream }] of touched) {
        this.st.put.run({ gateway: key.gateway, epoch: key.epoch, high: stream.high, above: JSON.stringify(stream.above), gaps: JSON.stringify(stream.gaps), now });
        if (!hold) continue;
        // in order: what has no hole below it, with what was held for it; the rest waits
        const mine: Array<{ seq: number; ready: Ready }> = [];
        keys.forEach((k, at) => {
          if (verdicts[at] === 'duplicate' || `${k.gateway}\u0000${k.epoch}` !== id) return;
          if (k.seq <= stream.high) mine.push({ seq: k.seq, ready: { at } });
          else this.st.hold.run(k.gateway, k.epoch, k.seq, hold(at), now);
        });
        ready.push(...this.release(key, stream.high, mine));
      }
      for (const c of COUNTERS) if (counts[c]) this.st.count.run(c, counts[c]);
    });
    run.immediate();
    if (!hold) verdicts.forEach((v, at) => v !== 'duplicate' && ready.push({ at }));
    return { verdicts, events, ready };
  }

  /** The held records of a stream up to `high` out of the table, merged in id order with `more`. */
  private release(key: LedgerKey, high: number, more: Array<{ seq: number; ready: Ready }> = []): Ready[] {
    const held = this.st.heldUpTo.all(key.gateway, key.epoch, high) as Array<{ seq: number; record: string }>;
    if (held.length) this.st.releaseUpTo.run(key.gateway, key.epoch, high);
    return [...held.map((h) => ({ seq: h.seq, ready: { record: h.record } as Ready })), ...more].sort((a, b) => a.seq - b.seq).map((r) => r.ready);
  }

  /**
   * Held records whose wait is over (held at or before `cutoff`) go on, in id order, with every held record before
   * them in their stream; the holes below them are given up as gaps.
   */
  releaseDue(cutoff: number, now = Date.now()): { ready: string[]; events: LedgerEvent[] } {
    const ready: string[] = [];
    const events: LedgerEvent[] = [];
    // the timer asks often: only a read unless something is due, so instances sharing the file are not locked out
    if (!this.st.anyDue.get(cutoff)) return { ready, events };
    const run = this.db.transaction(() => {
      ready.length = 0;
      events.length = 0;
      const counts: Record<Counter, number> = { accepted: 0, duplicates: 0, late: 0, gaps: 0, epochs: 0 };
      for (const due of this.st.due.all(cutoff) as Array<{ gateway: string; epoch: string; top: number }>) {
        const key = { gateway: due.gateway, epoch: due.epoch, seq: due.top };
        const stream = this.load(key, events, counts);
        while (stream.high < due.top && stream.above.length) this.giveUpOldestHole(stream, key, events, counts);
        this.st.put.run({ gateway: key.gateway, epoch: key.epoch, high: stream.high, above: JSON.stringify(stream.above), gaps: JSON.stringify(stream.gaps), now });
        for (const r of this.release(key, stream.high)) ready.push((r as { record: string }).record);
      }
      if (counts.gaps) this.st.count.run('gaps', counts.gaps);
    });
    run.immediate();
    return { ready, events };
  }

  /** A stream's state from its row; a stream seen for the first time starts here, and may be a new epoch. */
  private load(k: LedgerKey, events: LedgerEvent[], counts: Record<Counter, number>): Stream {
    const row = this.st.stream.get(k.gateway, k.epoch) as { high: number; above: string; gaps: string } | undefined;
    if (row) return { high: row.high, above: JSON.parse(row.above) as Range[], gaps: JSON.parse(row.gaps) as Range[] };
    const previous = (this.st.latest.get(k.gateway) as { epoch: string } | undefined)?.epoch;
    events.push({ kind: 'epoch', gateway: k.gateway, epoch: k.epoch, ...(previous ? { previous } : {}) });
    counts.epochs++;
    // ids start at 1 in a new buffer; a stream first seen far into its life (this ingest came later) starts where
    // it is met, without counting its history as a gap
    return { high: k.seq > this.o.window ? k.seq - 1 : 0, above: [], gaps: [] };
  }

  private decide(s: Stream, k: LedgerKey, events: LedgerEvent[], counts: Record<Counter, number>): Verdict {
    const seq = k.seq;
    if (seq <= s.high) {
      const gap = find(s.gaps, seq);
      if (!gap.found) return 'duplicate';
      remove(s.gaps, gap.at, seq);
      return 'late';
    }
    const place = find(s.above, seq);
    if (place.found) return 'duplicate';
    insert(s.above, place.at, seq);
    // the ids from high + 1 on that are all here fold into the mark
    if (s.above[0][0] === s.high + 1) s.high = s.above.shift()![1];
    // waited long enough for the oldest hole (or too many holes to keep): given up as a gap
    while (s.above.length && (s.above[s.above.length - 1][1] - s.high > this.o.window || s.above.length > MAX_RANGES)) {
      this.giveUpOldestHole(s, k, events, counts);
    }
    return 'new';
  }

  /** The ids between the mark and the first range above it will not be waited for: a gap, remembered for late ones. */
  private giveUpOldestHole(s: Stream, k: LedgerKey, events: LedgerEvent[], counts: Record<Counter, number>): void {
    const [from, to] = [s.high + 1, s.above[0][0] - 1];
    events.push({ kind: 'gap', gateway: k.gateway, epoch: k.epoch, from, to, count: to - from + 1 });
    counts.gaps += to - from + 1;
    s.gaps.push([from, to]);
    if (s.gaps.length > REMEMBERED_GAPS) s.gaps.shift();
    s.high = s.above.shift()![1];
  }

  stats(): LedgerStats {
    const out: LedgerStats = { held: 0, accepted: 0, duplicates: 0, late: 0, gaps: 0, epochs: 0, streams: 0 };
    for (const row of this.st.counters.all() as Array<{ key: string; value: number }>) {
      if ((COUNTERS as readonly string[]).includes(row.key)) out[row.key as Counter] = row.value;
    }
    out.streams = (this.st.streams.get() as { n: number }).n;
    out.held = (this.st.heldCount.get() as { n: number }).n;
    return out;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * The uplink's store-and-forward queue: every record is in SQLite (WAL) before it counts as accepted, and leaves
 * only when the broker acknowledged it. Memory holds only what is in flight; the backlog is paged from disk.
 *
 * Durability modes (SQLite's synchronous setting and when commits happen):
 *   fsync  every enqueue is its own transaction, flushed to disk before it returns: survives power loss.
 *   group  the caller batches enqueues for a few ms and commits them in one flushed transaction; acceptance waits
 *          for that commit: survives power loss, at a fraction of the flushes.
 *   os     commits without flushing: survives a crash of the process (the OS holds the data), not a power loss.
 *
 * A full disk: a reserve file beside the database (1 MiB) is given up the moment SQLite reports the disk full, so
 * the queue can still checkpoint, delete and apply its policy (drop the oldest records to make room, or refuse the
 * new ones); it is taken back once there is space again.
 *
 * Records get a unique id that only grows (AUTOINCREMENT never reuses one), and the database an epoch chosen when
 * it is created, so a consumer can de-duplicate and order by (epoch, id) even across a database that had to be
 * replaced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { writeDurably } from '../shared/json-store';
import { openChecked, OpenReport, SqliteLockedError } from '../shared/sqlite-file';

import type { Durability, FullPolicy } from './uplink-settings';

export type { Durability, FullPolicy, OpenReport };
/** Another process holds the database locked: not damage; opening is tried again later. */
export const QueueLockedError = SqliteLockedError;
/**
 * full: the size limit; disk-full: the disk; ttl: too old; too-large: bigger than one packet may carry;
 * bad-topic: no valid MQTT topic (refused before storing); refused: the broker refused the publish that carried it
 */
export type DropReason = 'full' | 'disk-full' | 'ttl' | 'too-large' | 'bad-topic' | 'refused';

export interface QueueOptions {
  durability: Durability;
  /** bytes of stored records (topic + body) at most; 0 = no limit */
  maxBytes: number;
  /** records older than this are dropped; 0 = keep */
  maxAgeMs: number;
  onFull: FullPolicy;
  /** bytes kept in a reserve file for when the disk fills up (default 1 MiB; 0 = none) */
  reserveBytes?: number;
  /** how often taking the reserve back is tried while the disk is full (default 10 s) */
  reserveRetryMs?: number;
}

export interface NewRecord {
  topic: string;
  /** measurement time, epoch ms */
  ts: number;
  /** the serialized payload */
  body: string;
}

export interface StoredRecord extends NewRecord {
  id: number;
  enqueued: number;
  bytes: number;
}

export interface DropEvent {
  reason: DropReason;
  count: number;
  /** ids of dropped stored records (oldest first); a refused new record has none */
  ids: number[];
  bytes: number;
  /** refused: what the broker said */
  error?: string;
}

export interface EnqueueResult {
  accepted: number;
  /** records of this call that were refused (drop-newest, reject) */
  refused: number;
  drops: DropEvent[];
}

export interface QueueStats {
  queued: number;
  bytes: number;
  inFlight: number;
  /** measurement time of the record stored first (the head of the queue) */
  oldestTs: number | undefined;
  enqueued: number;
  acked: number;
  resent: number;
  dropped: { full: number; diskFull: number; ttl: number; tooLarge: number; refused: number };
  /** the disk was found full and the reserve is not back yet */
  diskFull: boolean;
}

/** The reject policy refused records; `result` says what was stored and dropped. */
export class QueueFullError extends Error {
  constructor(message: string, readonly result: EnqueueResult) {
    super(message);
  }
}

/** A row of the page query, as raw columns. */
type PageRow = [id: number, topic: string, ts: number, enqueued: number, bytes: number, body: string];

/** Rows per INSERT statement when many are stored at once. */
const INSERT_CHUNK = 32;
const insertRows = (n: number) => `INSERT INTO records (topic, ts, enqueued, bytes, body) VALUES ${Array(n).fill('(?, ?, ?, ?, ?)').join(', ')}`;

const COUNTERS = ['enqueued', 'acked', 'resent', 'dropped_full', 'dropped_disk', 'dropped_ttl', 'dropped_large', 'dropped_refused'] as const;
type Counter = (typeof COUNTERS)[number];

const isDiskFull = (err: unknown) => (err as { code?: string }).code === 'SQLITE_FULL';

function recordBytes(r: NewRecord): number {
  return Buffer.byteLength(r.topic) + Buffer.byteLength(r.body);
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    ts INTEGER NOT NULL,
    enqueued INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;
const COLUMNS: Record<string, string[]> = { records: ['id', 'topic', 'ts', 'enqueued', 'bytes', 'body'], meta: ['key', 'value'] };

export class DurableQueue {
  readonly epoch: string;
  readonly opened: OpenReport;
  private readonly db: Database.Database;
  private readonly inFlight = new Set<number>();
  /**
   * Where paging goes on (the highest id handed out), so what is in flight is never reread. With live data first,
   * ids up to `split` are the backlog and have their own cursor; newer ones (live) are paged before them.
   */
  private cursor = 0;
  private liveCursor = 0;
  private split: number | undefined;
  private readonly reserveFile: string;
  /** the most bytes stored in one transaction: a quarter of the reserve, where the WAL is folded in anyway */
  private readonly partBytes: number;
  private diskFullNow = false;
  private reserveTried = 0;
  private bytes = 0;
  private count = 0;
  private readonly counters = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<Counter, number>;
  private readonly dirty = new Set<Counter>();
  private readonly st: Record<string, Database.Statement>;

  constructor(readonly file: string, private readonly o: QueueOptions) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { db, report } = openChecked(file, SCHEMA, COLUMNS, 'buffer');
    this.db = db;
    this.opened = report;
    db.pragma(`synchronous = ${o.durability === 'os' ? 'OFF' : 'FULL'}`);
    // a queue is read front to back: a small page cache is enough, and keeps memory flat however long the backlog
    db.pragma('cache_size = -2048');
    // The WAL is folded into the database once it holds a quarter of the reserve, and its file cut back to the
    // reserve's size: on a full disk, the space the reserve gives back is then enough for that checkpoint.
    const reserve = o.reserveBytes ?? 1_048_576;
    this.partBytes = Math.max(16_384, Math.floor((reserve > 0 ? reserve : 1_048_576) / 4));
    if (reserve > 0) {
      db.pragma(`wal_autocheckpoint = ${Math.max(16, Math.floor(reserve / 4 / 4096))}`);
      db.pragma(`journal_size_limit = ${reserve}`);
    }
    const get = db.prepare('SELECT value FROM meta WHERE key = ?');
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    let epoch = (get.get('epoch') as { value: string } | undefined)?.value;
    if (!epoch) {
      epoch = `${Date.now().toString(36)}-${crypto.randomBytes(4).toString('hex')}`;
      put.run('epoch', epoch);
    }
    this.epoch = epoch;
    for (const c of COUNTERS) this.counters[c] = Number((get.get(c) as { value: string } | undefined)?.value ?? 0);
    const totals = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM records').get() as { n: number; b: number };
    this.count = totals.n;
    this.bytes = totals.b;
    this.st = {
      insert: db.prepare(insertRows(1)),
      insertMany: db.prepare(insertRows(INSERT_CHUNK)),
      page: db.prepare('SELECT id, topic, ts, enqueued, bytes, body FROM records WHERE id > ? AND id <= ? ORDER BY id LIMIT ?').raw(),
      any: db.prepare('SELECT 1 FROM records WHERE id <= ? LIMIT 1'),
      last: db.prepare('SELECT MAX(id) AS id FROM records'),
      oldest: db.prepare('SELECT id, bytes FROM records ORDER BY id LIMIT ?'),
      oldestTs: db.prepare('SELECT ts FROM records ORDER BY id LIMIT 1'),
      remove: db.prepare('DELETE FROM records WHERE id = ?'),
      rangeTotals: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM records WHERE id BETWEEN ? AND ?'),
      removeRange: db.prepare('DELETE FROM records WHERE id BETWEEN ? AND ?'),
      expired: db.prepare('SELECT id, bytes FROM records WHERE enqueued < ? ORDER BY id LIMIT 10000'),
      putMeta: put,
    };
    this.reserveFile = `${file}.reserve`;
    this.takeReserve();
  }

  /** Claims the reserve file (again); on a disk still full, the disk stays marked full. */
  private takeReserve(): void {
    const size = this.o.reserveBytes ?? 1_048_576;
    if (!(size > 0)) return;
    this.reserveTried = Date.now();
    try {
      if (!fs.existsSync(this.reserveFile) || fs.statSync(this.reserveFile).size !== size) {
        // taken back only with as much room again to spare, so a disk at its limit does not flip back and forth
        const disk = fs.statfsSync(path.dirname(this.file));
        if (disk.bavail * disk.bsize < 2 * size) throw new Error('no room for the reserve');
        // written, not sparse: the blocks must really be taken
        writeDurably(this.reserveFile, Buffer.alloc(size));
      }
      this.setDiskFull(false);
    } catch {
      fs.rmSync(this.reserveFile, { force: true });
      this.setDiskFull(true);
    }
  }

  /** The disk is full: give the reserve up and fold the WAL in, so deletes and the policy can work. */
  private releaseReserve(): void {
    fs.rmSync(this.reserveFile, { force: true });
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // still full: the deletes that follow will tell
    }
    this.setDiskFull(true);
  }

  /**
   * While the disk is full the database may grow only into what the disk has beyond the room its WAL needs: new
   * records then take the pages of deleted ones, and the WAL can still fold in. What filled the disk may have been
   * the WAL of the transaction that failed (one large group into a small database): folded in and cut back, that
   * room is the database's again. Growing freely once the reserve is back.
   */
  private setDiskFull(full: boolean): void {
    this.diskFullNow = full;
    let pages = 1_073_741_823;
    if (full) {
      const pageSize = Number(this.db.pragma('page_size', { simple: true }));
      const disk = fs.statfsSync(path.dirname(this.file));
      const walRoom = Math.max(this.o.reserveBytes ?? 1_048_576, 256 * 1024);
      const growth = Math.max(0, Math.floor((disk.bavail * disk.bsize - walRoom) / pageSize));
      pages = Number(this.db.pragma('page_count', { simple: true })) + growth;
    }
    this.db.pragma(`max_page_count = ${pages}`);
  }

  /** Counts, to be written with the next transaction (only what changed). */
  private bump(c: Counter, n: number): void {
    if (!n) return;
    this.counters[c] += n;
    this.dirty.add(c);
  }

  private saveCounters(): void {
    for (const c of this.dirty) this.st.putMeta.run(c, String(this.counters[c]));
    this.dirty.clear();
  }

  /** A transaction whose in-memory totals and counters are put back when it fails (e.g. on a full disk). */
  private atomically(fn: () => void): void {
    const saved = { count: this.count, bytes: this.bytes, counters: { ...this.counters }, dirty: new Set(this.dirty) };
    try {
      this.db.transaction(fn)();
    } catch (err) {
      this.count = saved.count;
      this.bytes = saved.bytes;
      Object.assign(this.counters, saved.counters);
      this.dirty.clear();
      for (const c of saved.dirty) this.dirty.add(c);
      throw err;
    }
  }

  /** A deleting transaction: on a full disk the reserve is given up and it is tried once more. */
  private write(fn: () => void): void {
    try {
      this.atomically(fn);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.releaseReserve();
      this.atomically(fn);
    }
  }

  /** Deletes the oldest records not in flight until `bytes` are freed (within a transaction). */
  private dropOldest(bytes: number, reason: 'full' | 'disk-full'): DropEvent | undefined {
    const victims: Array<{ id: number; bytes: number }> = [];
    let freed = 0;
    for (const row of this.st.oldest.iterate(this.count) as Iterable<{ id: number; bytes: number }>) {
      if (freed >= bytes) break;
      if (this.inFlight.has(row.id)) continue;
      victims.push(row);
      freed += row.bytes;
    }
    if (!victims.length) return undefined;
    const removed = this.removeIds(victims);
    this.bump(reason === 'full' ? 'dropped_full' : 'dropped_disk', victims.length);
    return { reason, count: victims.length, ids: victims.map((v) => v.id), bytes: removed };
  }

  /**
   * Stores records (within a transaction): chunks of rows per statement, since a statement's call from JavaScript
   * costs about as much as SQLite's own work for a row.
   */
  private insert(records: NewRecord[], sizes: number[], now: number): void {
    const values = (i: number) => [records[i].topic, Math.round(records[i].ts), now, sizes[i], records[i].body];
    let i = 0;
    for (; i + INSERT_CHUNK <= records.length; i += INSERT_CHUNK) {
      const args: unknown[] = [];
      for (let k = i; k < i + INSERT_CHUNK; k++) args.push(...values(k));
      this.st.insertMany.run(args);
    }
    for (; i < records.length; i++) this.st.insert.run(values(i));
    this.count += records.length;
    for (const size of sizes) this.bytes += size;
  }

  private removeIds(rows: Array<{ id: number; bytes: number }>): number {
    let bytes = 0;
    for (const r of rows) {
      if (this.st.remove.run(r.id).changes > 0) {
        bytes += r.bytes;
        this.count--;
        this.bytes -= r.bytes;
      }
    }
    return bytes;
  }

  /**
   * Stores records. When they do not fit, the policy decides: drop the oldest records (stored ones first, never ones
   * in flight, then the oldest of the new ones: all count as accepted), refuse the new ones that do not fit
   * (drop-newest), or refuse them all with an error (reject). What is accepted is always the first records of the
   * call: once some are refused, the rest are too.
   *
   * A large call is stored in parts of at most PART_BYTES, one transaction each: a transaction's WAL must fit in
   * what the reserve gives back, or on a full disk the WAL could never be folded into the database (which has to
   * grow for it) and nothing could be stored or deleted again.
   */
  enqueue(records: NewRecord[], now = Date.now()): EnqueueResult {
    const result: EnqueueResult = { accepted: 0, refused: 0, drops: [] };
    this.retryReserve();
    const sizes = records.map(recordBytes);
    const incoming = sizes.reduce((a, b) => a + b, 0);
    if (this.o.onFull === 'reject' && this.o.maxBytes > 0 && this.bytes + incoming > this.o.maxBytes) {
      this.refuseRest(records.length, incoming, 'full', result);
    } else {
      for (let start = 0; start < records.length;) {
        let end = start + 1;
        let bytes = sizes[start];
        while (end < records.length && bytes + sizes[end] <= this.partBytes) bytes += sizes[end++];
        // most calls are one part: no copies then
        const whole = start === 0 && end === records.length;
        const part = whole ? this.enqueuePart(records, sizes, now) : this.enqueuePart(records.slice(start, end), sizes.slice(start, end), now);
        result.accepted += part.accepted;
        result.drops.push(...part.drops);
        if (part.refused) {
          result.refused = part.refused;
          const rest = sizes.slice(end).reduce((a, b) => a + b, 0);
          if (end < records.length) this.refuseRest(records.length - end, rest, this.diskFullNow ? 'disk-full' : 'full', result);
          break;
        }
        start = end;
      }
    }
    if (result.refused && this.o.onFull === 'reject') {
      const why = this.diskFullNow ? 'the disk is full' : `the buffer is full (${this.bytes} of ${this.o.maxBytes} bytes)`;
      throw new QueueFullError(`${why}: ${result.refused} record(s) refused`, result);
    }
    return result;
  }

  /** Records refused without a transaction of their own: counted now, written with the next one that succeeds. */
  private refuseRest(count: number, bytes: number, reason: 'full' | 'disk-full', result: EnqueueResult): void {
    this.bump(reason === 'full' ? 'dropped_full' : 'dropped_disk', count);
    result.refused += count;
    result.drops.push({ reason, count, ids: [], bytes });
  }

  /** One part of a call, in one transaction; on a full disk, in smaller ones (storeOnFullDisk). */
  private enqueuePart(records: NewRecord[], sizes: number[], now: number): EnqueueResult {
    const result: EnqueueResult = { accepted: 0, refused: 0, drops: [] };
    const run = () => this.atomically(() => {
      const incoming = sizes.reduce((a, b) => a + b, 0);
      let admit = records.length;
      let skip = 0;
      if (this.o.maxBytes > 0 && this.bytes + incoming > this.o.maxBytes) {
        if (this.o.onFull === 'drop-oldest') {
          const e = this.dropOldest(this.bytes + incoming - this.o.maxBytes, 'full');
          if (e) result.drops.push(e);
          // still too big (everything else in flight, or more new records than the limit holds): the oldest of the
          // new records give way too; they count as accepted and dropped
          let tail = incoming;
          while (skip < records.length && this.bytes + tail > this.o.maxBytes) tail -= sizes[skip++];
          if (skip) result.drops.push({ reason: 'full', count: skip, ids: [], bytes: sizes.slice(0, skip).reduce((a, b) => a + b, 0) });
        } else {
          admit = 0;
          let room = this.o.maxBytes - this.bytes;
          while (admit < records.length && sizes[admit] <= room) room -= sizes[admit++];
        }
      }
      this.insert(records.slice(skip, admit), sizes.slice(skip, admit), now);
      result.accepted = admit;
      result.refused = records.length - admit;
      if (result.refused) {
        this.bump('dropped_full', result.refused);
        result.drops.push({ reason: 'full', count: result.refused, ids: [], bytes: sizes.slice(admit).reduce((a, b) => a + b, 0) });
      }
      this.bump('dropped_full', skip);
      this.bump('enqueued', admit);
      this.saveCounters();
    });
    try {
      run();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.storeOnFullDisk(records, sizes, now, result);
    }
    return result;
  }

  /**
   * SQLite found the disk full (nothing of the part was stored). Drop-oldest stores the records in small
   * transactions (the WAL then needs little room), and when one does not fit, deletes the oldest stored records
   * not in flight (earlier parts of this call included) and tries again. The other policies, or a disk with
   * nothing left to delete, refuse the records not stored. Counted as disk-full drops either way.
   */
  private storeOnFullDisk(records: NewRecord[], sizes: number[], now: number, result: EnqueueResult): void {
    this.releaseReserve();
    result.accepted = 0;
    result.refused = 0;
    result.drops = [];
    let stored = 0;
    for (let failures = 0; this.o.onFull === 'drop-oldest' && stored < records.length && failures < 64;) {
      let end = stored + 1;
      let bytes = sizes[stored];
      while (end < records.length && bytes + sizes[end] <= 65_536) bytes += sizes[end++];
      try {
        this.atomically(() => {
          this.insert(records.slice(stored, end), sizes.slice(stored, end), now);
          this.bump('enqueued', end - stored);
          this.saveCounters();
        });
        stored = end;
        failures = 0; // a limit on failures in a row: a group ten times the disk fails once every few parts
        // fold the WAL in so the next part finds room
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch (err) {
        if (!isDiskFull(err)) throw err;
        failures++;
        if (this.pending === 0) break; // nothing left to delete: the disk is full of something else
        const deleted: DropEvent[] = [];
        try {
          this.atomically(() => {
            const e = this.dropOldest(Math.max(bytes * 2, 65_536), 'disk-full');
            if (e) deleted.push(e);
            this.saveCounters();
          });
          this.db.pragma('wal_checkpoint(TRUNCATE)');
        } catch (e2) {
          if (!isDiskFull(e2)) throw e2;
        }
        result.drops.push(...deleted);
      }
    }
    result.accepted = stored;
    result.refused = records.length - stored;
    if (!result.refused) return;
    this.bump('dropped_disk', result.refused); // written with the next transaction that succeeds
    result.drops.push({ reason: 'disk-full', count: result.refused, ids: [], bytes: sizes.slice(stored).reduce((a, b) => a + b, 0) });
  }

  /**
   * The next records to send, oldest first, skipping those in flight: at most `limit` records and `maxBytes`
   * bytes (at least one record). They are marked in flight until acked or released.
   */
  page(limit: number, maxBytes = Infinity): StoredRecord[] {
    const out: StoredRecord[] = [];
    if (this.split === undefined) {
      this.cursor = this.pageLane(this.cursor, Number.MAX_SAFE_INTEGER, limit, maxBytes, out);
      return out;
    }
    this.liveCursor = this.pageLane(Math.max(this.liveCursor, this.split), Number.MAX_SAFE_INTEGER, limit, maxBytes, out);
    this.cursor = this.pageLane(this.cursor, this.split, limit, maxBytes, out);
    if (!this.st.any.get(this.split)) {
      // the backlog is gone: one lane again, going on from the live one
      this.split = undefined;
      this.cursor = this.liveCursor;
    }
    return out;
  }

  /** Adds to `out` the next records with after < id <= upTo; returns the lane's new cursor. */
  private pageLane(after: number, upTo: number, limit: number, maxBytes: number, out: StoredRecord[]): number {
    let bytes = out.reduce((a, r) => a + r.bytes, 0);
    let cursor = after;
    if (out.length >= limit) return cursor;
    // rows in flight past the cursor (after a release) are read and skipped, so the read takes that many more;
    // read at once (all, raw): 60 % of iterate's cost a row, and never more rows than the limit asks for
    let ahead = 0;
    for (const id of this.inFlight) if (id > after && id <= upTo) ahead++;
    const rows = this.st.page.all(after, upTo, limit - out.length + ahead) as PageRow[];
    for (const [id, topic, ts, enqueued, size, body] of rows) {
      if (this.inFlight.has(id)) continue; // behind a released record: still on its way
      const r: StoredRecord = { id, topic, ts, enqueued, bytes: size, body };
      if (out.length >= limit || (out.length > 0 && bytes + r.bytes > maxBytes)) break;
      out.push(r);
      this.inFlight.add(r.id);
      bytes += r.bytes;
      cursor = r.id;
    }
    return cursor;
  }

  /**
   * Live data first: what is stored now is the backlog, and records stored from here on are sent before it. Order
   * holds within each (per topic); the ids let the receiver restore the overall order.
   */
  markBacklog(): void {
    const last = (this.st.last.get() as { id: number | null }).id;
    if (last === null) return;
    if (this.inFlight.size === 0) this.cursor = 0;
    this.liveCursor = last;
    this.split = last;
  }

  /** The broker has them: delete. */
  ack(ids: number[]): void {
    this.removeCounted(ids, 'acked');
  }

  /** Records that can never be delivered (too large for a packet, refused by the broker): deleted and counted. */
  discard(ids: number[], reason: 'too-large' | 'refused'): DropEvent {
    const bytes = this.removeCounted(ids, reason === 'too-large' ? 'dropped_large' : 'dropped_refused');
    return { reason, count: ids.length, ids, bytes };
  }

  private removeCounted(ids: number[], counter: Counter): number {
    let bytes = 0;
    this.write(() => {
      // a publish carries runs of consecutive ids: each run is counted and deleted by range, two statements a run
      // instead of two a record (the running totals stay exact: they are what the range held)
      let removed = 0;
      for (const [from, to] of idRuns(ids)) {
        const held = this.st.rangeTotals.get(from, to) as { n: number; b: number };
        if (held.n === 0) continue;
        this.st.removeRange.run(from, to);
        removed += held.n;
        bytes += held.b;
      }
      this.count -= removed;
      this.bytes -= bytes;
      this.bump(counter, removed);
      this.saveCounters();
    });
    for (const id of ids) this.inFlight.delete(id);
    this.retryReserve();
    return bytes;
  }

  /**
   * Once space is back (freed by our deletes, or by anyone else on the disk), the reserve is taken back and the
   * database may grow again: tried on every enqueue and ack, at most every 10 s (it is a 1 MiB write).
   */
  private retryReserve(): void {
    if (this.diskFullNow && Date.now() - this.reserveTried >= (this.o.reserveRetryMs ?? 10_000)) this.takeReserve();
  }

  /**
   * Not delivered (the link dropped before the acknowledgment): they go back and are sent again, before anything
   * newer, so order per topic holds. `published` false: taken but never sent (held back by the pace), so not a
   * resend.
   */
  release(ids: number[], published = true): void {
    let backlog = Infinity;
    let live = Infinity;
    for (const id of ids) {
      if (!this.inFlight.delete(id)) continue;
      if (published) this.bump('resent', 1);
      if (this.split !== undefined && id > this.split) live = Math.min(live, id);
      else backlog = Math.min(backlog, id);
    }
    if (backlog !== Infinity) this.cursor = Math.min(this.cursor, backlog - 1);
    if (live !== Infinity) this.liveCursor = Math.min(this.liveCursor, live - 1);
  }

  /** Releases everything in flight (on disconnect). */
  releaseAll(): void {
    this.release([...this.inFlight]);
  }

  /** Drops records older than the TTL (by enqueue time), oldest first, never ones in flight. */
  expire(now = Date.now()): DropEvent | undefined {
    if (!(this.o.maxAgeMs > 0)) return undefined;
    let event: DropEvent | undefined;
    this.write(() => {
      const rows = (this.st.expired.all(now - this.o.maxAgeMs) as Array<{ id: number; bytes: number }>).filter((r) => !this.inFlight.has(r.id));
      if (!rows.length) return;
      const bytes = this.removeIds(rows);
      this.bump('dropped_ttl', rows.length);
      this.saveCounters();
      event = { reason: 'ttl', count: rows.length, ids: rows.map((r) => r.id), bytes };
    });
    return event;
  }

  stats(): QueueStats {
    const oldest = (this.st.oldestTs.get() as { ts: number } | undefined)?.ts;
    return {
      queued: this.count,
      bytes: this.bytes,
      inFlight: this.inFlight.size,
      oldestTs: oldest ?? undefined,
      enqueued: this.counters.enqueued,
      acked: this.counters.acked,
      resent: this.counters.resent,
      dropped: {
        full: this.counters.dropped_full, diskFull: this.counters.dropped_disk, ttl: this.counters.dropped_ttl,
        tooLarge: this.counters.dropped_large, refused: this.counters.dropped_refused,
      },
      diskFull: this.diskFullNow,
    };
  }

  /** Records stored (a counter, no query). */
  get queued(): number {
    return this.count;
  }

  /** The disk was found full and the reserve is not back yet. */
  get diskFull(): boolean {
    return this.diskFullNow;
  }

  /** Records waiting to be sent (not in flight). */
  get pending(): number {
    return this.count - this.inFlight.size;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Ids as runs of consecutive numbers, [first, last] each, in ascending order. */
export function idRuns(ids: readonly number[]): Array<[number, number]> {
  const sorted = [...ids].sort((a, b) => a - b);
  const runs: Array<[number, number]> = [];
  for (const id of sorted) {
    const last = runs[runs.length - 1];
    if (last && id <= last[1] + 1) last[1] = Math.max(last[1], id);
    else runs.push([id, id]);
  }
  return runs;
}

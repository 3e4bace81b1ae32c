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
 * Records get a unique id that only grows (AUTOINCREMENT never reuses one), and the database an epoch chosen when
 * it is created, so a consumer can de-duplicate and order by (epoch, id) even across a database that had to be
 * replaced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Durability = 'fsync' | 'group' | 'os';
export const DURABILITY_MODES: readonly Durability[] = ['fsync', 'group', 'os'];
export type FullPolicy = 'drop-oldest' | 'drop-newest' | 'reject';
export const FULL_POLICIES: readonly FullPolicy[] = ['drop-oldest', 'drop-newest', 'reject'];
/** full: the size limit; ttl: too old; too-large: bigger than one packet may carry */
export type DropReason = 'full' | 'ttl' | 'too-large';

export interface QueueOptions {
  durability: Durability;
  /** bytes of stored records (topic + body) at most; 0 = no limit */
  maxBytes: number;
  /** records older than this are dropped; 0 = keep */
  maxAgeMs: number;
  onFull: FullPolicy;
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
  dropped: { full: number; ttl: number };
}

export class QueueFullError extends Error {}

/** A damaged database found at open, and where it was moved. */
export interface OpenReport {
  movedAside?: string;
  reason?: string;
}

const COUNTERS = ['enqueued', 'acked', 'resent', 'dropped_full', 'dropped_ttl'] as const;
type Counter = (typeof COUNTERS)[number];

function recordBytes(r: NewRecord): number {
  return Buffer.byteLength(r.topic) + Buffer.byteLength(r.body);
}

/** Opens the file as SQLite and checks it; a file that is not a sound database is moved aside (with its WAL). */
function openChecked(file: string): { db: Database.Database; report: OpenReport } {
  const report: OpenReport = {};
  const tryOpen = () => {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  };
  try {
    return { db: tryOpen(), report };
  } catch (err) {
    const aside = `${file}.corrupt-${Date.now()}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
    }
    report.movedAside = aside;
    report.reason = (err as Error).message;
    return { db: tryOpen(), report };
  }
}

export class DurableQueue {
  readonly epoch: string;
  readonly opened: OpenReport;
  private readonly db: Database.Database;
  private readonly inFlight = new Set<number>();
  /** the highest id handed out by page(): paging goes on from there, never rereading what is in flight */
  private cursor = 0;
  private bytes = 0;
  private count = 0;
  private readonly counters: Record<Counter, number> = { enqueued: 0, acked: 0, resent: 0, dropped_full: 0, dropped_ttl: 0 };
  private readonly dirty = new Set<Counter>();
  private readonly st: Record<string, Database.Statement>;

  constructor(readonly file: string, private readonly o: QueueOptions) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { db, report } = openChecked(file);
    this.db = db;
    this.opened = report;
    db.pragma(`synchronous = ${o.durability === 'os' ? 'OFF' : 'FULL'}`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        topic TEXT NOT NULL,
        ts INTEGER NOT NULL,
        enqueued INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        body TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
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
      insert: db.prepare('INSERT INTO records (topic, ts, enqueued, bytes, body) VALUES (?, ?, ?, ?, ?)'),
      page: db.prepare('SELECT id, topic, ts, enqueued, bytes, body FROM records WHERE id > ? ORDER BY id LIMIT ?'),
      oldest: db.prepare('SELECT id, bytes FROM records ORDER BY id LIMIT ?'),
      oldestTs: db.prepare('SELECT ts FROM records ORDER BY id LIMIT 1'),
      remove: db.prepare('DELETE FROM records WHERE id = ?'),
      bytesOf: db.prepare('SELECT bytes FROM records WHERE id = ?'),
      expired: db.prepare('SELECT id, bytes FROM records WHERE enqueued < ? ORDER BY id LIMIT 10000'),
      putMeta: put,
    };
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

  private removeIds(rows: Array<{ id: number; bytes: number }>): number {
    let bytes = 0;
    for (const r of rows) {
      if (this.st.remove.run(r.id).changes > 0) {
        bytes += r.bytes;
        this.count--;
        this.bytes -= r.bytes;
      }
      this.inFlight.delete(r.id);
    }
    return bytes;
  }

  /**
   * Stores records in one transaction. When they do not fit, the policy decides: drop the oldest stored records
   * (never ones in flight), refuse the new ones (drop-newest), or refuse them with an error (reject).
   */
  enqueue(records: NewRecord[], now = Date.now()): EnqueueResult {
    const result: EnqueueResult = { accepted: 0, refused: 0, drops: [] };
    const run = this.db.transaction(() => {
      const sizes = records.map(recordBytes);
      const incoming = sizes.reduce((a, b) => a + b, 0);
      let admit = records.length;
      if (this.o.maxBytes > 0 && this.bytes + incoming > this.o.maxBytes) {
        if (this.o.onFull === 'drop-oldest') {
          const need = this.bytes + incoming - this.o.maxBytes;
          const victims: Array<{ id: number; bytes: number }> = [];
          let freed = 0;
          for (const row of this.st.oldest.iterate(this.count) as Iterable<{ id: number; bytes: number }>) {
            if (freed >= need) break;
            if (this.inFlight.has(row.id)) continue;
            victims.push(row);
            freed += row.bytes;
          }
          if (victims.length) {
            const bytes = this.removeIds(victims);
            this.bump('dropped_full', victims.length);
            result.drops.push({ reason: 'full', count: victims.length, ids: victims.map((v) => v.id), bytes });
          }
          // still too big (a record larger than the limit, or everything in flight): refuse what does not fit
          while (admit > 0 && this.bytes + sizes.slice(0, admit).reduce((a, b) => a + b, 0) > this.o.maxBytes) admit--;
        } else {
          admit = 0;
          let room = this.o.maxBytes - this.bytes;
          while (admit < records.length && sizes[admit] <= room) room -= sizes[admit++];
          if (this.o.onFull === 'reject' && admit < records.length) admit = 0;
        }
      }
      for (let i = 0; i < admit; i++) {
        const r = records[i];
        this.st.insert.run(r.topic, Math.round(r.ts), now, sizes[i], r.body);
        this.count++;
        this.bytes += sizes[i];
      }
      result.accepted = admit;
      result.refused = records.length - admit;
      if (result.refused) {
        this.bump('dropped_full', result.refused);
        result.drops.push({ reason: 'full', count: result.refused, ids: [], bytes: sizes.slice(admit).reduce((a, b) => a + b, 0) });
      }
      this.bump('enqueued', admit);
      this.saveCounters();
    });
    run();
    if (result.refused && this.o.onFull === 'reject') {
      throw Object.assign(new QueueFullError(`the buffer is full (${this.bytes} of ${this.o.maxBytes} bytes): ${result.refused} record(s) refused`), { result });
    }
    return result;
  }

  /**
   * The next records to send, oldest first, skipping those in flight: at most `limit` records and `maxBytes`
   * bytes (at least one record). They are marked in flight until acked or released.
   */
  page(limit: number, maxBytes = Infinity): StoredRecord[] {
    const out: StoredRecord[] = [];
    let bytes = 0;
    for (const r of this.st.page.iterate(this.cursor, limit + this.inFlight.size) as Iterable<StoredRecord>) {
      if (this.inFlight.has(r.id)) continue; // behind a released record: still on its way
      if (out.length >= limit || (out.length > 0 && bytes + r.bytes > maxBytes)) break;
      out.push(r);
      bytes += r.bytes;
    }
    for (const r of out) this.inFlight.add(r.id);
    if (out.length) this.cursor = out[out.length - 1].id;
    return out;
  }

  /** The broker has them: delete. */
  ack(ids: number[]): void {
    this.db.transaction(() => {
      // bytes are looked up so the running total stays exact
      const rows = ids.map((id) => ({ id, bytes: (this.st.bytesOf.get(id) as { bytes: number } | undefined)?.bytes ?? 0 }));
      const before = this.count;
      this.removeIds(rows);
      this.bump('acked', before - this.count);
      this.saveCounters();
    })();
  }

  /**
   * Not delivered (the link dropped before the acknowledgment): they go back and are sent again, before anything
   * newer, so order per topic holds.
   */
  release(ids: number[]): void {
    let lowest = Infinity;
    for (const id of ids) {
      if (this.inFlight.delete(id)) {
        this.bump('resent', 1);
        lowest = Math.min(lowest, id);
      }
    }
    if (lowest !== Infinity) this.cursor = Math.min(this.cursor, lowest - 1);
  }

  /** Releases everything in flight (on disconnect). */
  releaseAll(): void {
    this.release([...this.inFlight]);
  }

  /** Drops records older than the TTL (by enqueue time), oldest first, never ones in flight. */
  expire(now = Date.now()): DropEvent | undefined {
    if (!(this.o.maxAgeMs > 0)) return undefined;
    let event: DropEvent | undefined;
    this.db.transaction(() => {
      const rows = (this.st.expired.all(now - this.o.maxAgeMs) as Array<{ id: number; bytes: number }>).filter((r) => !this.inFlight.has(r.id));
      if (!rows.length) return;
      const bytes = this.removeIds(rows);
      this.bump('dropped_ttl', rows.length);
      this.saveCounters();
      event = { reason: 'ttl', count: rows.length, ids: rows.map((r) => r.id), bytes };
    })();
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
      dropped: { full: this.counters.dropped_full, ttl: this.counters.dropped_ttl },
    };
  }

  /** Records stored (a counter, no query). */
  get queued(): number {
    return this.count;
  }

  /** Records waiting to be sent (not in flight). */
  get pending(): number {
    return this.count - this.inFlight.size;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

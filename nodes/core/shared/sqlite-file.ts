/**
 * Opening a SQLite state file (the uplink's buffer, the ingest's ledger) so that damage never becomes a crash
 * loop: a file that is not a sound database of the expected schema is moved aside (with its WAL) and a fresh one
 * started, and the caller is told. Locked is not damaged: SqliteLockedError, and nothing is moved.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';

/** A damaged database found at open, and where it was moved. */
export interface OpenReport {
  movedAside?: string;
  reason?: string;
}

/** Another process holds the database locked: not damage; opening is tried again later. */
export class SqliteLockedError extends Error {}

/** SQLite's word that a file is not a sound database (being locked, read-only or missing is not damage). */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);
const LOCK_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);
class DamagedError extends Error {}

/** A database whose tables have other columns is someone else's (or an incompatible version): not usable here. */
function checkSchema(db: Database.Database, schema: string, columns: Record<string, string[]>): void {
  db.exec(schema);
  for (const [table, expected] of Object.entries(columns)) {
    const found = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
    if (found.join(',') !== expected.join(',')) throw new DamagedError(`table ${table} has other columns (${found.join(', ')})`);
  }
}

/**
 * Opens the file as SQLite (WAL) and checks it against `schema` (created when missing) and each table's columns.
 * Other failures (a read-only directory, no permission) are thrown as they are, and nothing is moved either.
 * `what` names the file in the locked error ("the buffer database is locked ...").
 */
export function openChecked(file: string, schema: string, columns: Record<string, string[]>, what: string): { db: Database.Database; report: OpenReport } {
  const report: OpenReport = {};
  const tryOpen = () => {
    // no waiting for a lock at open: the caller tries again later instead of blocking the event loop
    const db = new Database(file, { timeout: 0 });
    try {
      db.pragma('journal_mode = WAL');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new DamagedError(`integrity check: ${String(check)}`);
      checkSchema(db, schema, columns);
      db.pragma('busy_timeout = 500');
      return db;
    } catch (err) {
      db.close();
      const code = (err as { code?: string }).code ?? '';
      if (LOCK_CODES.has(code)) throw new SqliteLockedError(`the ${what} database is locked by another process (${(err as Error).message})`);
      if (DAMAGE_CODES.has(code)) throw new DamagedError((err as Error).message);
      throw err;
    }
  };
  try {
    return { db: tryOpen(), report };
  } catch (err) {
    if (!(err instanceof DamagedError)) throw err;
    const aside = `${file}.corrupt-${Date.now()}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (fs.existsSync(file + suffix)) fs.renameSync(file + suffix, aside + suffix);
    }
    report.movedAside = aside;
    report.reason = err.message;
    return { db: tryOpen(), report };
  }
}

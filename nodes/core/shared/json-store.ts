/**
 * A small JSON state file that survives power loss: written to a temporary file, flushed to disk, then renamed
 * over the old one (rename is atomic), so a reader finds the old or the new state, never half of one. A file that
 * cannot be read is moved aside and reported, never a crash loop.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface LoadResult<T> {
  value: T | undefined;
  /** set when a damaged file was moved aside (its new name) */
  movedAside?: string;
  error?: string;
}

export function loadJson<T>(file: string): LoadResult<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { value: undefined };
    return { value: undefined, error: (err as Error).message };
  }
  try {
    return { value: JSON.parse(text) as T };
  } catch (err) {
    const aside = `${file}.corrupt-${Date.now()}`;
    try {
      fs.renameSync(file, aside);
    } catch {
      // leave it; the next save replaces it
    }
    return { value: undefined, movedAside: aside, error: (err as Error).message };
  }
}

/** Writes a file and flushes it to disk before returning. */
export function writeDurably(file: string, data: Uint8Array | string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flushes a directory, which makes a rename in it durable; some file systems cannot, and the rename is still atomic. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported here
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `beforeRename` runs between writing the new file and putting it in place (tests "lose power" there). */
export function saveJson(file: string, value: unknown, beforeRename?: () => void): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeDurably(tmp, JSON.stringify(value));
  beforeRename?.();
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/**
 * Why a node cannot keep its state in a directory (created when missing), or undefined when it can: checked at
 * deploy by writing and removing a probe file, so a read-only or foreign-owned directory is named at once, not by
 * the first failed save.
 */
export function writableDirProblem(dir: string): string | undefined {
  const probe = path.join(dir, `.write-check-${process.pid}`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

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

export function saveJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, JSON.stringify(value));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  // the rename itself is durable once the directory is flushed
  try {
    const dir = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dir);
    fs.closeSync(dir);
  } catch {
    // some file systems do not fsync directories
  }
}

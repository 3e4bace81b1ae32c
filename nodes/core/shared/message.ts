/**
 * The message contract's shared pieces: quality, results with a reason, property paths (parsed once, never into the
 * prototype chain) and stream keys.
 */
import { quote } from './errors';

export type Quality = 'good' | 'uncertain' | 'bad';
export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T>(error: string): Result<T> => ({ ok: false, error });

const parsedPaths = new Map<string, Array<string | number>>();

/** Splits `a.b[0]["c d"]` into ['a', 'b', 0, 'c d']; throws on a malformed path. Paths are parsed once. */
export function parsePath(path: string): Array<string | number> {
  let parts = parsedPaths.get(path);
  if (!parts) {
    parts = splitPath(path);
    if (parsedPaths.size > 1000) parsedPaths.clear();
    parsedPaths.set(path, parts);
  }
  return parts;
}

function splitPath(path: string): Array<string | number> {
  const parts: Array<string | number> = [];
  const re = /\s*(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\s*(["'])((?:\\.|(?!\3).)*)\3\s*\])/y;
  let i = 0;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m || (m.index === 0 && path[0] === '.')) throw new Error(`cannot read property path "${path}"`);
    const part = m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[4].replace(/\\(.)/g, '$1'));
    // a path must never reach into the prototype chain: reading is harmless, writing or deleting there is not
    if (typeof part === 'string' && UNSAFE_KEYS.has(part)) throw new Error(`property path "${path}" may not use "${part}"`);
    parts.push(part);
    i = re.lastIndex;
  }
  return parts;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Why a property path a user typed cannot be used (malformed, or into the prototype chain), or undefined. */
export function pathProblem(path: string): string | undefined {
  try {
    parsePath(path);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Reads a property path from a value; undefined when any step is missing. */
export function getPath(value: unknown, path: string | Array<string | number>): unknown {
  const parts = typeof path === 'string' ? parsePath(path) : path;
  let current: unknown = value;
  for (const key of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Longest stream key kept: a stream table holds up to its limit of keys, each of which stays in memory. */
export const MAX_KEY_LENGTH = 4096;

/**
 * The stream a message belongs to, from the value at the stream-key path: a string or a number as text, '' when
 * absent. Anything else (an object, an array) or an over-long key is refused with the reason.
 */
export function streamKey(value: unknown): string | { refused: string } {
  if (typeof value === 'string') return value.length <= MAX_KEY_LENGTH ? value : { refused: `a key of ${value.length} characters (at most ${MAX_KEY_LENGTH})` };
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return { refused: quote(value) };
}

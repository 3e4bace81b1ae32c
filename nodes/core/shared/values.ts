/**
 * How every node reads "a value" from what the others send, so their defaults compose: a number, an object of named
 * values (each field its own stream), or edge-aggregate's statistics of a field (`{count, mean, min, max, ...}`),
 * which stand for their mean.
 */

export type Plain = Record<string, unknown>;

export const isPlainObject = (v: unknown): v is Plain =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);

/** edge-aggregate's statistics of one field: an object with a finite mean. */
export function isStatistics(v: unknown): v is Plain & { mean: number } {
  return isPlainObject(v) && typeof v.mean === 'number' && Number.isFinite(v.mean);
}

/** The number a value stands for: itself when finite, the mean of statistics; undefined for anything else. */
export function numberOf(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  return isStatistics(v) ? v.mean : undefined;
}

/** Field names of an object that hold a value (a number or statistics), in order. */
export function valueFields(v: unknown): string[] {
  if (!isPlainObject(v) || isStatistics(v)) return [];
  return Object.keys(v).filter((k) => numberOf(v[k]) !== undefined);
}

/**
 * What a rule on a whole value reads: the value itself when it is a number or statistics, or the one value an object
 * of named values holds. `fields` lists the candidates when there are several, so the user can be told to choose.
 */
export function soleNumber(v: unknown): { value?: number; fields?: string[] } {
  const direct = numberOf(v);
  if (direct !== undefined) return { value: direct };
  const fields = valueFields(v);
  if (fields.length === 1) return { value: numberOf((v as Plain)[fields[0]]) };
  return fields.length > 1 ? { fields } : {};
}

/**
 * Property paths of the values a message holds (numbers, booleans, and statistics as a whole), depth first, for the
 * editor to offer as rule paths: `payload.temperature`, `payload.temperature.max`, `payload.anomaly`.
 */
export function valuePaths(msg: unknown, roots: readonly string[] = ['payload'], limit = 50): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const name = (base: string, key: string) => (/^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`);
  const walk = (v: unknown, path: string, depth: number): void => {
    if (out.length >= limit) return;
    if (typeof v === 'number' || typeof v === 'boolean' || isStatistics(v)) out.push(path);
    if (!isPlainObject(v) || depth >= 4 || seen.has(v)) return;
    seen.add(v);
    for (const key of Object.keys(v).slice(0, limit)) walk(v[key], name(path, key), depth + 1);
  };
  if (isPlainObject(msg)) for (const root of roots) walk(msg[root], root, 0);
  return out;
}

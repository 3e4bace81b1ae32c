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

/**
 * `x` rounded to `digits` significant digits: the number `Number(x.toPrecision(digits))` gives, by arithmetic (a
 * sixth of the time: this runs for every statistic of every window). Halves round away from zero, as toPrecision
 * does; magnitudes a power of ten cannot scale exactly, and more than 15 digits, go through toPrecision.
 */
export function significant(x: number, digits: number): number {
  if (x === 0) return 0;
  if (!Number.isFinite(x)) return x;
  const magnitude = Math.abs(x);
  const places = digits - 1 - Math.floor(Math.log10(magnitude));
  // beyond 15 digits the scaled value is no longer an exact integer
  if (digits > 15 || places > 22 || places < -22) return Number(x.toPrecision(digits));
  const scaled = places >= 0 ? magnitude * 10 ** places : magnitude / 10 ** -places;
  // near a half the scaling's own rounding could tip the digit: there toPrecision decides from the exact value
  if (Math.abs(scaled - Math.floor(scaled) - 0.5) < 1e-6) return Number(x.toPrecision(digits));
  // an integer over an exact power of ten: the division is correctly rounded, so this is the decimal's nearest double
  const rounded = places >= 0 ? Math.round(scaled) / 10 ** places : Math.round(scaled) * 10 ** -places;
  return x < 0 ? -rounded : rounded;
}

/**
 * Whole number from a config field (editor fields arrive as strings): blank is the fallback; "1e5" is 100000; anything
 * else that is not a whole number ("12abc", "1.5", "x") is NaN, so the settings' checks name it rather than a
 * default quietly taking its place.
 */
export function toInt(v: unknown, fallback: number): number {
  const text = String(v ?? '').trim();
  if (typeof v !== 'number' && text === '') return fallback;
  const n = typeof v === 'number' ? v : Number(text);
  return Number.isInteger(n) ? n : NaN;
}

/** Number from a config field; NaN when it is not one, so validation can name it. */
export function toNumber(v: unknown, fallback: number): number {
  if (v === undefined || v === null || String(v).trim() === '') return fallback;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/** One of the allowed values, else the fallback (an editor select, or a value from an older flow). */
export function pick<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return (allowed as readonly unknown[]).includes(value) ? (value as T) : fallback;
}

/** An optional number field: undefined when empty, NaN when not a number (so validation can name it). */
export function optionalNumber(v: unknown): number | undefined {
  return v === undefined || v === null || String(v).trim() === '' ? undefined : toNumber(v, NaN);
}

/**
 * A setting that cannot work, named by the key of its message (`errors.<key>` in the node's locale) and the
 * values for its placeholders: core code never writes the words, so every node reports in the user's language.
 */
export interface Problem {
  key: string;
  vars?: Record<string, unknown>;
}

const isProblem = (v: unknown): v is Problem => typeof v === 'object' && v !== null && typeof (v as Problem).key === 'string';

/**
 * A problem in words, from the node's messages (`t` reads `errors.<key>`); a problem may carry another as a value
 * (an alarm, and what is wrong with it). The runtime and the editor both say problems through this.
 */
export function problemText(t: (key: string, vars: Record<string, unknown>) => string, p: Problem): string {
  const vars = Object.fromEntries(Object.entries(p.vars ?? {}).map(([k, v]) => [k, isProblem(v) ? problemText(t, v) : v]));
  return t(`errors.${p.key}`, vars);
}

/** Settings that cannot work, thrown where a constructor cannot return them; the node says each in words. */
export class SettingsError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => p.key).join(', '));
  }
}

/**
 * A gateway id: letters, digits and `. _ : -`, 1 to 128 of them, so it can be a topic level, a file name and an AWS
 * IoT thing name as it is. Undefined when usable.
 */
export function gatewayIdProblem(id: string): string | undefined {
  return /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? undefined : 'gateway';
}

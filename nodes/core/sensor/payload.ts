/**
 * Turning raw MQTT payloads into the suite's message contract: parse, pick the value and its timestamp and
 * quality, and reject what is not a measurement with a reason a user can act on.
 */
import { fail, getPath, ok, Quality, Result } from '../shared/message';

export type PayloadFormat = 'auto' | 'json' | 'number' | 'string';

function preview(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 40 ? `${flat.slice(0, 40)}...` : flat;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Parses a payload. `auto` reads JSON when it is JSON, a number when it is one, text otherwise. */
export function parsePayload(buf: Buffer, format: PayloadFormat, maxBytes: number): Result<unknown> {
  if (buf.length > maxBytes) {
    return fail(`payload of ${formatBytes(buf.length)} is larger than the ${formatBytes(maxBytes)} limit`);
  }
  const text = buf.toString('utf8');
  switch (format) {
    case 'string':
      return ok(text);
    case 'number': {
      const n = text.trim() === '' ? NaN : Number(text);
      return Number.isFinite(n) ? ok(n) : fail(`payload "${preview(text)}" is not a number`);
    }
    case 'json':
      try {
        return ok(JSON.parse(text));
      } catch (err) {
        return fail(`payload is not valid JSON (${(err as Error).message}): "${preview(text)}"`);
      }
    case 'auto': {
      const trimmed = text.trim();
      if (/^[[{"]/.test(trimmed)) {
        try {
          return ok(JSON.parse(trimmed));
        } catch (err) {
          return fail(`payload looks like JSON but is not valid (${(err as Error).message}): "${preview(text)}"`);
        }
      }
      if (trimmed !== '' && Number.isFinite(Number(trimmed))) return ok(Number(trimmed));
      if (trimmed === 'true' || trimmed === 'false') return ok(trimmed === 'true');
      return ok(text);
    }
  }
}

/** Timestamps outside these years are taken for a mistake (an elapsed time, a counter), not a date. */
const EARLIEST_MS = Date.UTC(2000, 0, 1);
const LATEST_MS = Date.UTC(2100, 0, 1);
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const RFC_2822 = /^([A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}(:\d{2})? (GMT|UT|UTC|[+-]\d{4})$/;

/**
 * Epoch milliseconds from a timestamp field: numbers in seconds, milliseconds, microseconds or nanoseconds
 * (told apart by magnitude) or an ISO 8601 / RFC 2822 date string, between the years 2000 and 2100.
 */
export function toEpochMs(value: unknown): Result<number> {
  let ms = NaN;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    if (value < 1e11) ms = value * 1000;
    else if (value < 1e14) ms = value;
    else if (value < 1e17) ms = value / 1e3;
    else ms = value / 1e6;
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (/^\d+(\.\d+)?$/.test(text)) return toEpochMs(Number(text));
    if (ISO_8601.test(text) || RFC_2822.test(text)) ms = Date.parse(text);
  }
  if (Number.isFinite(ms) && ms >= EARLIEST_MS && ms < LATEST_MS) return ok(Math.round(ms));
  return fail(`timestamp ${JSON.stringify(value)} is not a date between 2000 and 2100`);
}

/**
 * Quality from a field: "good"/"uncertain"/"bad", a boolean (true = good) or an OPC DA quality code, whose two
 * quality bits (0xC0) decide: 11 good, 01 uncertain, 00 bad (10 is unused and taken as bad).
 */
export function toQuality(value: unknown): Quality | undefined {
  if (value === 'good' || value === 'uncertain' || value === 'bad') return value;
  if (typeof value === 'boolean') return value ? 'good' : 'bad';
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    const bits = value & 0xc0;
    return bits === 0xc0 ? 'good' : bits === 0x40 ? 'uncertain' : 'bad';
  }
  return undefined;
}

/**
 * Checks that an extracted value is a measurement the suite can carry: a finite number, a boolean, an object of
 * them, or a numeric array. Numeric strings become numbers. Text is allowed only when the user asked for text.
 */
export function toMeasurement(value: unknown, allowText: boolean): Result<unknown> {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? ok(value) : fail(`value ${value} is not a finite number`);
  }
  if (typeof value === 'boolean') return ok(value);
  if (typeof value === 'string') {
    const n = value.trim() === '' ? NaN : Number(value);
    if (Number.isFinite(n)) return ok(n);
    return allowText ? ok(value) : fail(`value "${preview(value)}" is not numeric`);
  }
  if (value === undefined) return fail('the value is missing');
  if (value === null) return fail('the value is null');
  if (Array.isArray(value)) {
    const bad = value.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    return bad < 0 ? ok(value) : fail(`element ${bad} of the array is not a finite number`);
  }
  if (typeof value === 'object') return ok(value);
  return fail(`value of type ${typeof value} is not a measurement`);
}

export interface ExtractOptions {
  /** property path of the value inside a parsed object payload; empty = the whole payload */
  valuePath?: string;
  /** property path of the timestamp; 'auto' tries ts, timestamp, time; '' = time of arrival */
  tsPath?: string;
  /** property path of a quality field; '' = none */
  qualityPath?: string;
  allowText: boolean;
  /** the value already picked by the caller (e.g. a JSONata expression); overrides valuePath */
  picked?: unknown;
}

export interface Extracted {
  value: unknown;
  ts: number;
  quality?: Quality;
}

const AUTO_TS_FIELDS = ['ts', 'timestamp', 'time'];

/** From a parsed payload to value, timestamp and quality. `now` is used when the payload carries no time. */
export function extractMeasurement(parsed: unknown, options: ExtractOptions, now: number): Result<Extracted> {
  const hasPicked = 'picked' in options;
  const raw = hasPicked ? options.picked : options.valuePath ? getPath(parsed, options.valuePath) : parsed;
  if (raw === undefined && options.valuePath && !hasPicked) return fail(`payload has no "${options.valuePath}"`);
  const measured = toMeasurement(raw, options.allowText);
  if (!measured.ok) return measured;

  let ts = now;
  const isObject = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
  if (options.tsPath === 'auto') {
    const field = isObject ? AUTO_TS_FIELDS.find((f) => (parsed as Record<string, unknown>)[f] !== undefined) : undefined;
    if (field) {
      const t = toEpochMs((parsed as Record<string, unknown>)[field]);
      if (!t.ok) return t;
      ts = t.value;
    }
  } else if (options.tsPath) {
    const t = toEpochMs(getPath(parsed, options.tsPath));
    if (!t.ok) return fail(`${t.error} (from "${options.tsPath}")`);
    ts = t.value;
  }

  let value = measured.value;
  // When the value is the whole object, the timestamp and quality fields are metadata, not channels.
  if (!options.valuePath && !hasPicked && isObject) {
    value = { ...(value as Record<string, unknown>) };
    const skip = options.tsPath === 'auto' ? AUTO_TS_FIELDS : options.tsPath ? [options.tsPath] : [];
    for (const f of [...skip, options.qualityPath ?? '']) delete (value as Record<string, unknown>)[f];
  }

  let quality: Quality | undefined;
  if (options.qualityPath) {
    const q = getPath(parsed, options.qualityPath);
    if (q !== undefined) {
      quality = toQuality(q);
      if (!quality) return fail(`quality ${JSON.stringify(q)} is not good, uncertain, bad or an OPC quality code`);
    }
  }
  return ok({ value, ts, quality });
}

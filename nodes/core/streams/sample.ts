/** A message payload as a sample for windows and filters. */
import { fail, ok, Result } from '../shared/message';
import { quote } from '../shared/errors';
import { isStatistics, numberOf } from '../shared/values';

/**
 * A payload as a sample for windows and filters: a finite number, or an object whose finite numbers (and booleans,
 * as 0/1, and statistics as their mean) are its channels; other fields (text, other nested objects) are left out.
 */
export function toSample(value: unknown): Result<number | Record<string, number>> {
  if (typeof value === 'number') return Number.isFinite(value) ? ok(value) : fail(`payload ${value} is not a finite number`);
  if (typeof value === 'boolean') return ok(value ? 1 : 0);
  if (typeof value === 'string') {
    const n = value.trim() === '' ? NaN : Number(value);
    return Number.isFinite(n) ? ok(n) : fail(`payload ${quote(value)} is not numeric`);
  }
  if (isStatistics(value)) return ok(value.mean);
  if (ArrayBuffer.isView(value)) return fail('a binary payload (Buffer or typed array) is not a sample: send one number or an object of numbers');
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const n = numberOf(v);
      if (n !== undefined) out[k] = n;
      else if (typeof v === 'boolean') out[k] = v ? 1 : 0;
    }
    return Object.keys(out).length ? ok(out) : fail('the payload object has no numeric field');
  }
  if (Array.isArray(value)) return fail('an array payload is not a sample (send one number or an object of numbers)');
  return fail(value === undefined || value === null ? 'the payload is missing' : `payload of type ${typeof value} is not numeric`);
}

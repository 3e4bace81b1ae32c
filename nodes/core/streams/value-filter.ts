/**
 * One message's value through the stream filters: a number (or a numeric text) is one stream; an object of named
 * values is one stream per field, as edge-aggregate reads it; statistics from edge-aggregate are judged by their
 * mean and passed on whole. Fields that hold no value (text, nested objects) ride along with what passes.
 */
import { Decision, Quality, RejectReason, StreamFilter } from './filter';
import { isPlainObject, isStatistics, numberOf, Plain, valueFields } from '../shared/values';

export interface FieldRejection {
  field: string;
  reason: RejectReason;
  detail: string;
}

export type ValueOutcome =
  | { kind: 'single'; decision: Decision }
  | {
      kind: 'fields';
      /** the payload to send (undefined when no field passed) */
      passed?: Plain;
      /** the worst quality of the fields that passed */
      quality?: Quality;
      rejected: FieldRejection[];
      /** fields that passed */
      sent: string[];
      /** fields held for the end of a rate-limit interval */
      held: string[];
    };

const RANK: Record<Quality, number> = { good: 0, uncertain: 1, bad: 2 };

/** A field's value as sent: the number, or its statistics with the mean the filter settled on. */
export function fieldValue(raw: unknown, value: number): unknown {
  if (!isStatistics(raw)) return value;
  return raw.mean === value ? raw : { ...raw, mean: value };
}

/** The filter of a stream: `field` is undefined for a single value. */
export type FilterFor = (field: string | undefined) => StreamFilter;

/** `maxFields`: an object with more value fields is refused whole (each field would take a stream of its own). */
export function filterValue(raw: unknown, quality: Quality | undefined, now: number, filterFor: FilterFor, maxFields = Infinity): ValueOutcome {
  const fields = isPlainObject(raw) && !isStatistics(raw) ? valueFields(raw) : undefined;
  if (fields && fields.length > maxFields) {
    return { kind: 'single', decision: { action: 'reject', reason: 'fields', detail: `${fields.length} value fields, more than the ${maxFields} streams kept` } };
  }
  if (!fields || fields.length === 0) {
    // a single value, or an object with no value in it (rejected as not numeric, with its words)
    return { kind: 'single', decision: filterFor(undefined).process(numberOf(raw) ?? raw, quality, now) };
  }
  const object = raw as Plain;
  const valueSet = new Set(fields);
  const passed: Plain = {};
  const rejected: FieldRejection[] = [];
  const held: string[] = [];
  const sent: string[] = [];
  let worst: Quality | undefined;
  for (const key of Object.keys(object)) {
    if (!valueSet.has(key)) {
      passed[key] = object[key];
      continue;
    }
    const decision = filterFor(key).process(numberOf(object[key]), quality, now);
    if (decision.action === 'pass') {
      passed[key] = fieldValue(object[key], decision.value);
      sent.push(key);
      if (decision.quality && (worst === undefined || RANK[decision.quality] > RANK[worst])) worst = decision.quality;
    } else if (decision.action === 'hold') {
      held.push(key);
    } else {
      // the words only when someone reads them (a deadband's are not, by default)
      const words = decision;
      rejected.push({ field: key, reason: decision.reason, get detail() { return words.detail; } });
    }
  }
  return { kind: 'fields', passed: sent.length ? passed : undefined, quality: worst, rejected, sent, held };
}

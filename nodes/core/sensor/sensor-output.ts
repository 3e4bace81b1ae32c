/**
 * From one reading of several named channels (a Modbus poll, a simulator tick) to the messages of the suite's
 * contract: one message with an object payload, or one message per channel.
 */
import { Quality } from '../shared/message';

export interface Reading {
  ts: number;
  values: Record<string, unknown>;
  /** channels that could not be read, with the reason */
  errors: Record<string, string>;
}

export type OutputMode = 'object' | 'each';
/** what happens to channels that failed: sent with quality "bad", or only reported as errors */
export type FailurePolicy = 'quality' | 'error';

export interface SensorMessage {
  topic: string;
  payload: unknown;
  ts: number;
  quality: Quality;
  unit?: string;
  units?: Record<string, string>;
  error?: string;
  errors?: Record<string, string>;
}

export interface OutputOptions {
  topic: string;
  mode: OutputMode;
  onFailure: FailurePolicy;
  units?: Record<string, string>;
  /** channel order for 'each' (defaults to values then errors) */
  order?: string[];
}

/** good when every channel was read, bad when none, uncertain in between. */
export function readingQuality(reading: Reading): Quality {
  const failed = Object.keys(reading.errors).length;
  if (failed === 0) return 'good';
  return Object.keys(reading.values).length === 0 ? 'bad' : 'uncertain';
}

export function readingMessages(reading: Reading, options: OutputOptions): SensorMessage[] {
  const failed = Object.keys(reading.errors).length > 0;
  if (options.mode === 'object') {
    const quality = readingQuality(reading);
    if (quality === 'bad' && options.onFailure === 'error') return [];
    const msg: SensorMessage = { topic: options.topic, payload: { ...reading.values }, ts: reading.ts, quality };
    if (options.units && Object.keys(options.units).length > 0) msg.units = options.units;
    if (failed) msg.errors = { ...reading.errors };
    return [msg];
  }
  const names = options.order ?? [...Object.keys(reading.values), ...Object.keys(reading.errors)];
  const out: SensorMessage[] = [];
  for (const name of names) {
    const topic = options.topic ? `${options.topic}/${name}` : name;
    const unit = options.units?.[name];
    if (name in reading.values) {
      const msg: SensorMessage = { topic, payload: reading.values[name], ts: reading.ts, quality: 'good' };
      if (unit) msg.unit = unit;
      out.push(msg);
    } else if (name in reading.errors && options.onFailure === 'quality') {
      const msg: SensorMessage = { topic, payload: null, ts: reading.ts, quality: 'bad', error: reading.errors[name] };
      if (unit) msg.unit = unit;
      out.push(msg);
    }
  }
  return out;
}

/** One line describing what failed in a reading, for node.error and the status. */
export function describeFailures(reading: Reading): string | undefined {
  const entries = Object.entries(reading.errors);
  if (entries.length === 0) return undefined;
  const byReason = new Map<string, string[]>();
  for (const [name, reason] of entries) {
    const list = byReason.get(reason) ?? [];
    list.push(name);
    byReason.set(reason, list);
  }
  return [...byReason].map(([reason, names]) => `${names.join(', ')}: ${reason}`).join('; ');
}

/**
 * edge-sensor's settings from the editor's fields (strings and table rows) that do not need Node-RED: the poll
 * interval, the output shape, the register map's rows and the simulator's channels and anomalies as numbers.
 */
import { PointDefinition, validateRegisterMap } from './modbus-registers';
import { AnomalySpec, ChannelSpec, validateChannels } from './simulator';
import { FailurePolicy, OutputMode } from './sensor-output';
import { optionalNumber, Problem, toInt, toNumber } from '../shared/fields';
import { validateTopicFilter } from '../connections/mqtt-topics';
import { pathProblem } from '../shared/message';

/** Longest interval a timer can hold (2^31-1 ms, about 24.8 days); Node turns longer ones into 1 ms. */
export const MAX_INTERVAL_S = 2_147_483;

/** Poll interval in ms from the seconds a user typed, or undefined when it cannot be one. */
export function pollIntervalMs(seconds: unknown): number | undefined {
  const s = Number(seconds);
  return Number.isFinite(s) && s >= 0.01 && s <= MAX_INTERVAL_S ? Math.round(s * 1000) : undefined;
}

export function outputSettings(def: { outputMode?: string; onFailure?: string }): { mode: OutputMode; onFailure: FailurePolicy } {
  return {
    mode: def.outputMode === 'each' ? 'each' : 'object',
    onFailure: def.onFailure === 'error' ? 'error' : 'quality',
  };
}

const optionalInt = (v: unknown) => (v === undefined || v === null || String(v).trim() === '' ? undefined : toInt(v, NaN));

/** Editor rows carry strings; the register map wants numbers (and nothing for empty optional cells). */
export function normalizePoints(rows: Partial<PointDefinition>[] | undefined): Partial<PointDefinition>[] {
  return (Array.isArray(rows) ? rows : []).map((row) => {
    const r = row as Record<string, unknown>;
    const point: Partial<PointDefinition> = {
      name: String(r.name ?? '').trim(),
      area: r.area as PointDefinition['area'],
      address: toInt(r.address, NaN),
      type: r.type as PointDefinition['type'],
      order: (r.order || undefined) as PointDefinition['order'],
      length: optionalInt(r.length),
      bit: optionalInt(r.bit),
      scale: optionalNumber(r.scale),
      offset: optionalNumber(r.offset),
      unit: r.unit ? String(r.unit) : undefined,
      unitId: optionalInt(r.unitId),
    };
    for (const key of Object.keys(point) as Array<keyof PointDefinition>) {
      if (point[key] === undefined) delete point[key];
    }
    return point;
  });
}

function numericFields<T>(row: Partial<T>, fields: readonly string[], fallbacks: Record<string, number>): Partial<T> {
  const out: Record<string, unknown> = { ...row };
  for (const f of fields) out[f] = toNumber(out[f], fallbacks[f] ?? NaN);
  return out as Partial<T>;
}

/** The simulator's rows as numbers; blanks take the usual defaults, anything else that is not a number is NaN (named). */
export function simulatorRows(channels: Partial<ChannelSpec>[] | undefined, anomalies: Partial<AnomalySpec>[] | undefined): {
  channels: Partial<ChannelSpec>[];
  anomalies: Partial<AnomalySpec>[];
} {
  return {
    channels: (Array.isArray(channels) ? channels : []).map((c) =>
      numericFields<ChannelSpec>(c, ['base', 'amplitude', 'periodS', 'noise', 'drift', 'decimals'], { amplitude: 0, periodS: 60, noise: 0, drift: 0, decimals: 3 })),
    anomalies: (Array.isArray(anomalies) ? anomalies : []).map((a) =>
      numericFields<AnomalySpec>(a, ['atS', 'durationS', 'magnitude', 'everyS'], { durationS: 0, magnitude: 0, everyS: 0 })),
  };
}

export const PAYLOAD_FORMATS = ['auto', 'json', 'number', 'string'] as const;

/** The editor's fields of an edge-sensor that the rules below read. */
export interface SensorFields {
  source?: string;
  interval?: unknown;
  subscription?: string;
  qos?: unknown;
  format?: string;
  maxPayloadKb?: unknown;
  valueMode?: string;
  valuePath?: string;
  tsPath?: string;
  qualityPath?: string;
  points?: Partial<PointDefinition>[];
  unitId?: unknown;
  maxGap?: unknown;
  seed?: unknown;
  channels?: Partial<ChannelSpec>[];
  anomalies?: Partial<AnomalySpec>[];
}

/** A unit id override: blank is none, else 0 to 255. */
export function unitOverride(v: unknown): number | undefined {
  return String(v ?? '').trim() === '' ? undefined : toInt(v, NaN);
}

/**
 * Everything wrong with a sensor's settings for its source, as message keys: the same rules at deploy and in the
 * editor (the source's connection, a broker or a device, is the node's to look up).
 */
export function sensorProblems(def: SensorFields): Problem[] {
  const problems: Problem[] = [];
  const source = def.source ?? 'simulator';
  if (source !== 'mqtt' && pollIntervalMs(def.interval) === undefined) problems.push({ key: 'interval', vars: { max: MAX_INTERVAL_S } });
  if (source === 'mqtt') {
    const filterProblem = validateTopicFilter(String(def.subscription ?? '').trim());
    if (filterProblem) problems.push(filterProblem);
    const qos = toInt(def.qos, 0);
    if (!(qos >= 0 && qos <= 2)) problems.push({ key: 'qos' });
    const format = def.format || 'auto';
    if (!(PAYLOAD_FORMATS as readonly string[]).includes(format)) problems.push({ key: 'format', vars: { format: String(format).slice(0, 40) } });
    if (!(toNumber(def.maxPayloadKb, 256) >= 1)) problems.push({ key: 'maxPayload' });
    const tsPath = def.tsPath === undefined ? 'auto' : String(def.tsPath).trim();
    for (const path of [def.valueMode === 'path' ? String(def.valuePath ?? '').trim() : '', tsPath === 'auto' ? '' : tsPath, String(def.qualityPath ?? '').trim()]) {
      const problem = path ? pathProblem(path) : undefined;
      if (problem) problems.push({ key: 'path', vars: { problem } });
    }
  } else if (source === 'modbus') {
    problems.push(...validateRegisterMap(normalizePoints(def.points)));
    const maxGap = toInt(def.maxGap, 0);
    if (!(maxGap >= 0 && maxGap <= 100)) problems.push({ key: 'maxGap' });
    const unit = unitOverride(def.unitId);
    if (unit !== undefined && !(unit >= 0 && unit <= 255)) problems.push({ key: 'unitId' });
  } else if (source === 'simulator') {
    if (!Number.isFinite(toInt(def.seed, 1))) problems.push({ key: 'seed' });
    const rows = simulatorRows(def.channels, def.anomalies);
    problems.push(...validateChannels(rows.channels, rows.anomalies));
  } else {
    problems.push({ key: 'source', vars: { source: String(source).slice(0, 40) } });
  }
  return problems;
}

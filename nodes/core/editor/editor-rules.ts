/**
 * The rules the runtime applies to a node's settings, for the editor: each node type's settings function from core
 * (the very code a deploy runs), and where in the dialog each problem belongs (a field, or a cell of a list).
 * Bundled for the browser into the package's `resources/` by scripts/bundle-editor.js, which refuses any module
 * that needs Node.js.
 */
import { filterSettings } from '../streams/filter-settings';
import { aggregateSettings } from '../streams/aggregate-settings';
import { alarmSettings } from '../alarms/alarm-settings';
import { sensorProblems } from '../sensor/sensor-settings';
import { modbusDeviceSettings } from '../connections/modbus-settings';
import { brokerSettings } from '../connections/mqtt-settings';
import { uplinkOptions, UplinkSettings } from '../uplink/uplink-settings';
import { ingestOptions, IngestSettings } from '../ingest/ingest-settings';
import { updateOptions, UpdateSettings } from '../updates/update-settings';
import { engineOptions, InferSettings } from '../inference/infer-settings';
import type { Problem } from '../shared/fields';

export type Definition = Record<string, unknown>;

/** A problem and where it is shown: a field (a property of the node), and for a list the row and the cell. */
export interface PlacedProblem extends Problem {
  field: string;
  row?: number;
  cell?: string;
}

interface ListRule {
  /** the field that holds the list */
  field: string;
  /** where a problem inside a row belongs: its key to the cell's name (a `field` in its values wins) */
  cells: Record<string, string>;
}

interface TypeRules {
  check(def: Definition): Problem[];
  /** problem key to field; keys not listed belong to `fallback` */
  fields: Record<string, string | ((p: Problem, def: Definition) => string)>;
  fallback: string;
  /** problem keys about one row of a list ("inPoint": the point's row, with the problem inside) */
  rows?: Record<string, ListRule>;
}

const keys = (problems: string[]): Problem[] => problems.map((key) => ({ key }));
const pathField = (property: string, other: string) => (p: Problem, def: Definition) =>
  (p.vars?.path !== undefined && p.vars.path === (def[property] || 'payload') ? property : other);

const POINTS: ListRule = {
  field: 'points',
  cells: { pointName: 'name', pointArea: 'area', pointType: 'type', pointAddress: 'address', pointBits: 'type', pointOrder: 'order',
    pointLength: 'length', pointBit: 'bit', pointUnitId: 'unitId', pointPastEnd: 'address' },
};
const CHANNELS: ListRule = {
  field: 'channels',
  cells: { channelName: 'name', channelTwice: 'name', waveform: 'waveform', sinePeriod: 'periodS', noise: 'noise', decimals: 'decimals' },
};
const ANOMALIES: ListRule = {
  field: 'anomalies',
  cells: { anomalyChannel: 'channel', anomalyKind: 'kind', anomalyStart: 'atS', anomalyDuration: 'durationS', anomalyMagnitude: 'magnitude', anomalyRepeat: 'everyS' },
};
const ALARMS: ListRule = {
  field: 'alarms',
  cells: { idRequired: 'id', idTwice: 'id', path: 'path', suppressPath: 'suppressWhen', priority: 'priority', ruleKind: 'kind', limit: 'limit',
    limitPositive: 'limit', setpoint: 'setpoint', deadband: 'deadband', delays: 'onDelay' },
};

export const RULES: Record<string, TypeRules> = {
  'edge-filter': {
    check: (d) => filterSettings(d).problems,
    fields: { min: 'min', max: 'max', minAboveMax: 'max', resolution: 'outlierResolution', outlierWindow: 'outlierWindow', outlierThreshold: 'outlierThreshold',
      stepAfter: 'stepAfter', deadband: 'deadbandValue', heartbeat: 'heartbeat', rate: 'rateInterval', maxStreams: 'maxStreams', path: pathField('property', 'key') },
    fallback: 'property',
  },
  'edge-aggregate': {
    check: (d) => aggregateSettings(d).problems,
    fields: { windowKind: 'window', size: 'size', countSize: 'size', countAboveLimit: 'size', hop: 'hop', countHop: 'hop', overlap: 'hop', lateness: 'lateness',
      maxFields: 'maxFields', maxSamples: 'maxSamples', noStatistics: 'statistics', statistic: 'statistics', points: 'points', maxStreams: 'maxStreams',
      precision: 'precision', path: 'key', exception: 'exceptionBand', exceptionMean: 'statistics' },
    fallback: 'window',
  },
  'edge-alarm': {
    check: (d) => alarmSettings(d).problems,
    fields: { floodMax: 'floodMax', floodMinutes: 'floodMinutes', chatterMax: 'chatterMax', chatterSeconds: 'chatterSeconds', noAlarms: 'alarms' },
    fallback: 'alarms',
    rows: { inAlarm: ALARMS, inAlarmN: ALARMS },
  },
  'edge-sensor': {
    check: (d) => sensorProblems(d),
    fields: { interval: 'interval', filterEmpty: 'subscription', filterHash: 'subscription', filterPlus: 'subscription', qos: 'qos', format: 'format',
      maxPayload: 'maxPayloadKb', path: 'valuePath', maxGap: 'maxGap', unitId: 'unitId', noPoints: 'points', pointTwice: 'points',
      noChannels: 'channels', source: 'source', seed: 'seed' },
    fallback: 'source',
    rows: { inPoint: POINTS, inPointN: POINTS, inChannel: CHANNELS, inChannelN: CHANNELS, inAnomaly: ANOMALIES },
  },
  'edge-modbus-device': {
    check: (d) => modbusDeviceSettings(d).problems,
    fields: { host: 'host', port: 'port', serialPath: 'serialPath', baudRate: 'baudRate', parity: 'parity', dataBits: 'dataBits', stopBits: 'stopBits',
      timeout: 'timeout', unitTimeouts: 'unitTimeouts', unitId: 'unitId', reconnect: 'reconnectMin' },
    fallback: 'transport',
  },
  'edge-mqtt-broker': {
    // credentials are not in the definition: they are checked at deploy only
    check: (d) => brokerSettings(d, {}).problems,
    fields: { url: 'url', urlCredentials: 'url', scheme: 'url', maxPacket: 'maxPacketKb', protocolVersion: 'protocolVersion', keepalive: 'keepalive',
      sessionExpiry: 'sessionExpiry', clientId: 'clientId', willTopic: 'willTopic', willWildcard: 'willTopic',
      reconnect: (p) => (p.vars?.bound === 'first' ? 'reconnectMinS' : 'reconnectMaxS') },
    fallback: 'url',
  },
  'edge-uplink': {
    check: (d) => keys(uplinkOptions(d as unknown as UplinkSettings).problems),
    fields: { qos: 'qos', maxRecords: 'maxRecords', batchWait: 'batchWait', maxPacket: 'maxPacketKb', groupMs: 'groupMs', limits: 'maxSizeMb',
      rate: 'rateRecords', userProperties: 'userProperties', paths: 'allow', topicTemplate: 'topic', messageExpiry: 'messageExpiry', urgent: 'urgent',
      gateway: 'gateway' },
    fallback: 'topic',
  },
  'edge-ingest': {
    check: (d) => ingestOptions(d as unknown as IngestSettings).problems,
    fields: { filterEmpty: 'topic', filterHash: 'topic', filterPlus: 'topic', topicShared: 'topic', qos: 'qos', group: 'group', window: 'window', ledger: 'ledger', hold: 'holdMs' },
    fallback: 'topic',
  },
  'edge-model-update': {
    check: (d) => keys(updateOptions(d as unknown as UpdateSettings).problems),
    fields: { url: 'url', topic: 'topic', directory: 'directory', interval: 'interval', limits: 'maxSizeMb', probation: 'probation', keep: 'keep',
      gateway: 'gateway', shadow: 'shadow', shadowSamples: 'shadowSamples', shadowMinutes: 'shadowMinutes', shadowAgreement: 'shadowAgreement',
      shadowAnomalyBand: 'shadowAnomalyBand', shadowLatency: 'shadowLatency' },
    fallback: 'source',
  },
  'edge-infer': {
    check: (d) => keys(engineOptions(d as unknown as InferSettings).problems),
    fields: { threads: 'threads', maxBatch: 'maxBatch', concurrency: 'concurrency', queueSize: 'queueSize', maxValues: 'maxValues', topK: 'topK',
      batchWait: 'batchWait', threshold: 'threshold', drift: 'drift', driftWindow: 'driftWindow', driftWatch: 'driftWatch', driftAlarm: 'driftAlarm',
      explain: 'explain' },
    fallback: 'mode',
  },
};

/** Where one problem is shown. */
function place(rules: TypeRules, p: Problem, def: Definition): PlacedProblem {
  const list = rules.rows?.[p.key];
  if (list) {
    const inner = p.vars?.problem as Problem | undefined;
    const named = inner?.vars?.field;
    const cell = typeof named === 'string' ? named : inner ? list.cells[inner.key] : undefined;
    return { ...p, field: list.field, row: Number(p.vars?.n) - 1, cell };
  }
  const where = rules.fields[p.key];
  return { ...p, field: typeof where === 'function' ? where(p, def) : where ?? rules.fallback };
}

/** Every problem of a node's settings, placed; an unknown type has none (it is not ours to judge). */
export function check(type: string, def: Definition): PlacedProblem[] {
  const rules = RULES[type];
  if (!rules) return [];
  return rules.check(def).map((p) => place(rules, p, def));
}

/**
 * edge-model-update's settings from the editor's fields (strings), with every problem named by a key the node
 * translates, so a bad setting is reported at deploy. The model, the broker and the keys are the node's to look up.
 */
import { gatewayIdProblem, toInt, toNumber } from '../shared/fields';
import { DEFAULT_SHADOW, ShadowGate, shadowGateProblems } from '../monitoring/shadow-gate';

export type UpdateSource = 'http' | 'mqtt' | 'directory';

export interface UpdateSettings {
  source: string;
  url: string;
  interval: string;
  topic: string;
  artifactBase: string;
  directory: string;
  requireSignature: boolean;
  maxSizeMb: string;
  timeout: string;
  probation: string;
  keep: string;
  statusTopic: string;
  /** this gateway's id for staged rollouts and in reports; empty: the Node-RED instance's (absent in older flows) */
  gateway?: string;
  /** "on": every new version runs in shadow first, with the gate below; "off" (or absent): only when its manifest asks */
  shadow?: string;
  shadowSamples?: string;
  shadowMinutes?: string;
  /** percent */
  shadowAgreement?: string;
  /** percentage points */
  shadowAnomalyBand?: string;
  shadowLatency?: string;
}

export interface UpdateOptions {
  source: UpdateSource;
  url: string;
  intervalMs: number;
  topic: string;
  artifactBase: string;
  directory: string;
  requireSignature: boolean;
  maxBytes: number;
  timeoutMs: number;
  probationRuns: number;
  keep: number;
  statusTopic: string;
  gateway: string;
  /** the node's shadow gate (undefined: off) */
  shadow?: ShadowGate;
  /** the source or the status topic goes through an MQTT broker */
  needsBroker: boolean;
  /** keys of the `errors.*` messages for what is wrong */
  problems: string[];
}

/**
 * `instanceGateway`: the id a gateway has when the setting is empty (the glue passes the Node-RED instance's, as
 * edge-uplink does, so both name the gateway alike).
 */
export function updateOptions(def: UpdateSettings, instanceGateway = 'gateway'): UpdateOptions {
  const source: UpdateSource = def.source === 'mqtt' || def.source === 'directory' ? def.source : 'http';
  const o: UpdateOptions = {
    source,
    url: (def.url ?? '').trim(),
    intervalMs: toNumber(def.interval, 300) * 1000,
    topic: (def.topic ?? '').trim(),
    artifactBase: (def.artifactBase ?? '').trim(),
    directory: (def.directory ?? '').trim(),
    requireSignature: def.requireSignature !== false,
    maxBytes: toNumber(def.maxSizeMb, 100) * 1_048_576,
    timeoutMs: toNumber(def.timeout, 30) * 1000,
    probationRuns: toInt(def.probation, 10),
    keep: toInt(def.keep, 3),
    statusTopic: (def.statusTopic ?? '').trim(),
    gateway: (def.gateway ?? '').trim() || instanceGateway,
    needsBroker: false,
    problems: [],
  };
  const gate: ShadowGate = {
    samples: toInt(def.shadowSamples, DEFAULT_SHADOW.samples),
    minutes: toNumber(def.shadowMinutes, DEFAULT_SHADOW.minutes),
    agreement: toNumber(def.shadowAgreement, DEFAULT_SHADOW.agreement * 100) / 100,
    anomalyRateChange: toNumber(def.shadowAnomalyBand, DEFAULT_SHADOW.anomalyRateChange * 100) / 100,
    latencyFactor: toNumber(def.shadowLatency, DEFAULT_SHADOW.latencyFactor),
  };
  if (def.shadow === 'on') {
    o.shadow = gate;
    // the editor's field names, so each problem points at its field
    for (const k of shadowGateProblems(gate)) o.problems.push(SHADOW_KEYS[k]);
  } else if (def.shadow !== undefined && def.shadow !== 'off') o.problems.push('shadow');
  if (gatewayIdProblem(o.gateway)) o.problems.push('gateway');
  o.needsBroker = source === 'mqtt' || o.statusTopic !== '';
  if (source === 'http' && !/^https?:\/\/.+/i.test(o.url)) o.problems.push('url');
  if (source === 'mqtt' && !o.topic) o.problems.push('topic');
  if (source === 'directory' && !o.directory) o.problems.push('directory');
  if (source !== 'mqtt' && !(o.intervalMs >= 1000)) o.problems.push('interval');
  if (source !== 'mqtt' && o.intervalMs > 604_800_000) o.problems.push('interval');
  if (!(o.maxBytes > 0) || !(o.timeoutMs >= 1000 && o.timeoutMs <= 3_600_000)) o.problems.push('limits');
  if (!(o.probationRuns >= 0)) o.problems.push('probation');
  if (!(o.keep >= 1 && o.keep <= 1000)) o.problems.push('keep');
  return o;
}

const SHADOW_KEYS: Record<keyof ShadowGate, string> = {
  samples: 'shadowSamples', minutes: 'shadowMinutes', agreement: 'shadowAgreement', anomalyRateChange: 'shadowAnomalyBand', latencyFactor: 'shadowLatency',
};

/**
 * What the three sources of edge-sensor share: the node's settings, the context they run in, and the one way a
 * reading becomes output messages.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { StatusThrottle } from '../core/shared/status';
import { FailurePolicy, OutputMode, Reading, readingMessages, describeFailures } from '../core/sensor/sensor-output';
import { MAX_INTERVAL_S, pollIntervalMs } from '../core/sensor/sensor-settings';
import { PointDefinition } from '../core/sensor/modbus-registers';
import { AnomalySpec, ChannelSpec } from '../core/sensor/simulator';

export interface SensorDef extends NodeDef {
  source: string;
  topic: string;
  outputMode: string;
  onFailure: string;
  // mqtt
  broker: string;
  subscription: string;
  qos: string;
  format: string;
  valueMode: string;
  valuePath: string;
  valueExpr: string;
  tsPath: string;
  qualityPath: string;
  onBadPayload: string;
  maxPayloadKb: string;
  // modbus
  device: string;
  interval: string;
  unitId: string;
  maxGap: string;
  points: Partial<PointDefinition>[];
  // simulator
  seed: string;
  channels: Partial<ChannelSpec>[];
  anomalies: Partial<AnomalySpec>[];
}

export type { DoneFn, SendFn } from '../kit/node-kit';
import type { DoneFn, SendFn } from '../kit/node-kit';

export interface SensorContext {
  RED: NodeAPI;
  node: Node;
  def: SensorDef;
  status: StatusThrottle;
  /** translated text of a key under `edge-sensor.` */
  t: (key: string, vars?: Record<string, unknown>) => string;
}

export interface Source {
  start(): void;
  /** an input message: poll now (Modbus), sample now (simulator) */
  trigger(msg: NodeMessageInFlow, send: SendFn, done: DoneFn): void;
  /** `removed`: the node was deleted, not just redeployed or stopped */
  stop(removed: boolean): Promise<void>;
}

/** Poll interval in ms from the node's settings; throws, in words, when unusable. */
export function intervalMs(ctx: SensorContext): number {
  const ms = pollIntervalMs(ctx.def.interval);
  if (ms === undefined) throw new Error(ctx.t('errors.interval', { max: MAX_INTERVAL_S }));
  return ms;
}

/** Properties a reading sets; a triggering message's own values of them must not leak into the outputs. */
const READING_FIELDS = ['payload', 'ts', 'quality', 'unit', 'units', 'error', 'errors'];

/**
 * Sends the messages of a reading. With a triggering message, the outputs carry its other properties along (so a
 * request/response flow keeps its correlation fields); failures it must report go to done(err) or node.error.
 */
export function emitReading(
  ctx: SensorContext,
  reading: Reading,
  options: { topic: string; mode: OutputMode; onFailure: FailurePolicy; units?: Record<string, string> },
  send: SendFn,
  trigger?: NodeMessageInFlow,
): Error | undefined {
  const messages = readingMessages(reading, options);
  let carried: Record<string, unknown> | undefined;
  if (trigger) {
    carried = { ...trigger };
    for (const f of READING_FIELDS) delete carried[f];
  }
  const out: NodeMessage[] = messages.map((m, i) => {
    if (!carried) return m as unknown as NodeMessage;
    // each output starts from the trigger's other properties, then the reading (like the split node, the
    // messages of one trigger share its _msgid)
    const base = i === 0 ? { ...carried } : ctx.RED.util.cloneMessage(carried as NodeMessage);
    return Object.assign(base, m) as NodeMessage;
  });
  if (out.length === 1) send(out[0]);
  else if (out.length > 1) send([out]);
  const failures = describeFailures(reading);
  if (failures && options.onFailure === 'error') return new Error(failures);
  return undefined;
}

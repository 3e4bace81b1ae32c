/**
 * What the three sources of edge-sensor share: the node's settings, the context they run in, and the one way a
 * reading becomes output messages.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { StatusThrottle } from '../core/status';
import { FailurePolicy, OutputMode, Reading, readingMessages, describeFailures } from '../core/sensor-output';
import { PointDefinition } from '../core/modbus-registers';
import { AnomalySpec, ChannelSpec } from '../core/simulator';

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

export type SendFn = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type DoneFn = (err?: Error) => void;

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

export function outputSettings(def: SensorDef): { mode: OutputMode; onFailure: FailurePolicy } {
  return {
    mode: def.outputMode === 'each' ? 'each' : 'object',
    onFailure: def.onFailure === 'error' ? 'error' : 'quality',
  };
}

/** Poll interval in ms from the seconds a user typed; throws when unusable. */
export function intervalMs(ctx: SensorContext): number {
  const seconds = Number(ctx.def.interval);
  if (!Number.isFinite(seconds) || seconds < 0.01) throw new Error(ctx.t('errors.interval'));
  return Math.round(seconds * 1000);
}

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
  const out: NodeMessage[] = messages.map((m, i) => {
    if (!trigger) return m as unknown as NodeMessage;
    const base = i === 0 ? trigger : ctx.RED.util.cloneMessage(trigger);
    return Object.assign(base, m) as NodeMessage;
  });
  if (out.length === 1) send(out[0]);
  else if (out.length > 1) send([out]);
  const failures = describeFailures(reading);
  if (failures && options.onFailure === 'error') return new Error(failures);
  return undefined;
}

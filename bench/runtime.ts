/**
 * A real Node-RED runtime in this process for benchmarks, with the test helper's method spies removed so that
 * nothing instruments the message path being measured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node } from 'node-red';
import helper = require('node-red-node-test-helper');
import sensorNode = require('../nodes/edge-sensor/edge-sensor');
import brokerNode = require('../nodes/edge-mqtt-broker/edge-mqtt-broker');
import deviceNode = require('../nodes/edge-modbus-device/edge-modbus-device');
import aggregateNode = require('../nodes/edge-aggregate/edge-aggregate');
import filterNode = require('../nodes/edge-filter/edge-filter');
import alarmNode = require('../nodes/edge-alarm/edge-alarm');
import modelNode = require('../nodes/edge-model/edge-model');
import inferNode = require('../nodes/edge-infer/edge-infer');
import uplinkNode = require('../nodes/edge-uplink/edge-uplink');
import updateNode = require('../nodes/edge-model-update/edge-model-update');
import type { NodeAPI } from 'node-red';
// the peer for report by exception: core Node-RED's rbe, as a user has it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rbeNode = require('@node-red/nodes/core/function/rbe.js') as (RED: NodeAPI) => void;
// core batching and publishing, as a flow without our nodes has them
// eslint-disable-next-line @typescript-eslint/no-require-imports
const joinNodes = require('@node-red/nodes/core/sequence/17-split.js') as (RED: NodeAPI) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js') as (RED: NodeAPI) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const switchNode = require('@node-red/nodes/core/function/10-switch.js') as (RED: NodeAPI) => void;
// the peers for windows: moving averages (smooth) and clock-aligned interval means (aggregator), as users have them
// eslint-disable-next-line @typescript-eslint/no-require-imports
const smoothNode = require('node-red-node-smooth/17-smooth.js') as (RED: NodeAPI) => void;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aggregatorNode = require('node-red-contrib-aggregator/aggregator/aggregator.js') as (RED: NodeAPI) => void;

/** The baseline of any node's cost: a node that sends each message on unchanged. */
function passThroughNode(RED: NodeAPI): void {
  RED.nodes.registerType('bench-pass', function (this: Node, def: object) {
    RED.nodes.createNode(this, def as never);
    const onInput = (msg: object, send: (m: object) => void, done: () => void) => {
      send(msg);
      done();
    };
    this.on('input', onInput as never);
  });
}

/** What bench-tap nodes hand their messages to, by node id. */
export const taps = new Map<string, (msg: Record<string, unknown>) => void>();

/** A node that counts or collects what reaches it for the benchmark (through `taps`), and sends nothing on. */
function tapNode(RED: NodeAPI): void {
  RED.nodes.registerType('bench-tap', function (this: Node, def: object) {
    RED.nodes.createNode(this, def as never);
    const onInput = (msg: Record<string, unknown>, _send: unknown, done: () => void) => {
      taps.get(this.id)?.(msg);
      done();
    };
    this.on('input', onInput as never);
  });
}

helper.init(require.resolve('node-red'));

// The helper wraps these Node methods in spies on every load; the benchmarks put the originals back.
const SPIED = ['log', 'status', 'warn', 'error', 'debug', 'trace', 'send'] as const;
const nodePrototype = (require('@node-red/runtime/lib/nodes/Node') as { prototype: Record<string, unknown> }).prototype;
const originals = Object.fromEntries(SPIED.map((m) => [m, nodePrototype[m]]));

const scratch: string[] = [];
/** A temporary directory for one benchmark, removed when the runtime stops (and if the run dies on the way). */
export function scratchDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `edge-bench-${name}-`));
  scratch.push(dir);
  return dir;
}
function removeScratch(): void {
  for (const dir of scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
process.once('exit', removeScratch);

/** where the nodes keep state (the uplink's databases): a scratch directory, not a user directory */
export const STATE_DIR = scratchDir('state');

export async function startRuntime(): Promise<void> {
  helper.settings({ edgeIntelligenceStateDir: STATE_DIR });
  await new Promise<void>((resolve) => helper.startServer(() => resolve()));
}

export async function stopRuntime(): Promise<void> {
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(() => resolve()));
  removeScratch();
}

/**
 * Replaces the running flow. `beforeStart` runs once the nodes exist but before their sources deliver anything
 * (the helper creates the nodes, then calls back), so a meter can be attached without missing the first message.
 */
export async function deploy(flow: object[], beforeStart?: (get: typeof node) => void, credentials: Record<string, object> = {}): Promise<void> {
  await helper.unload();
  const nodes: Array<{ id: string; type?: string }> = [{ id: 'tab', type: 'tab' }, ...(flow as Array<{ id: string }>).map((n, i) => ('wires' in n ? { z: 'tab', x: 100, y: 40 * (i + 1), ...n } : n))];
  await new Promise<void>((resolve) => void helper.load([sensorNode, brokerNode, deviceNode, aggregateNode, filterNode, alarmNode, modelNode, inferNode, uplinkNode, updateNode, passThroughNode, tapNode, rbeNode, smoothNode, aggregatorNode, joinNodes, mqttNodes, switchNode] as never, nodes, credentials, () => {
    (helper as unknown as { _sandbox: { restore(): void } })._sandbox.restore();
    Object.assign(nodePrototype, originals);
    // Node-RED copies `send` onto each node when it is created, so those copies are spies too
    for (const n of nodes) {
      const instance = helper.getNode(n.id) as Record<string, unknown> | null;
      if (instance && (instance.send as { args?: unknown }).args !== undefined) instance.send = originals.send;
    }
    beforeStart?.(node);
    resolve();
  }));
}

/**
 * Resolves once every message sent so far has been delivered: Node-RED delivers each on its own setImmediate, in
 * order, so one queued after them runs after them all.
 */
export function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function node(id: string): Node & { receive(msg: object): void } {
  return helper.getNode(id) as Node & { receive(msg: object): void };
}

/**
 * Running our nodes in a real Node-RED runtime (node-red-node-test-helper), with the package's English message
 * catalogues so tests can assert the exact words a user sees.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Node, NodeAPI } from 'node-red';
// eslint-disable-next-line @typescript-eslint/no-require-imports
import helper = require('node-red-node-test-helper');
import sensorNode = require('../../nodes/edge-sensor/edge-sensor');
import brokerNode = require('../../nodes/edge-mqtt-broker/edge-mqtt-broker');
import deviceNode = require('../../nodes/edge-modbus-device/edge-modbus-device');
import aggregateNode = require('../../nodes/edge-aggregate/edge-aggregate');
import filterNode = require('../../nodes/edge-filter/edge-filter');
import alarmNode = require('../../nodes/edge-alarm/edge-alarm');
import modelNode = require('../../nodes/edge-model/edge-model');
import inferNode = require('../../nodes/edge-infer/edge-infer');
import uplinkNode = require('../../nodes/edge-uplink/edge-uplink');
import updateNode = require('../../nodes/edge-model-update/edge-model-update');
import ingestNode = require('../../nodes/edge-ingest/edge-ingest');
import { waitFor } from '../../scripts/lib/net-util';

helper.init(require.resolve('node-red'));

const repo = path.resolve(__dirname, '..', '..', '..');
const catalogues: Record<string, unknown> = {};
for (const type of ['edge-sensor', 'edge-mqtt-broker', 'edge-modbus-device', 'edge-aggregate', 'edge-filter', 'edge-alarm', 'edge-model', 'edge-infer', 'edge-uplink', 'edge-model-update', 'edge-ingest']) {
  Object.assign(catalogues, JSON.parse(fs.readFileSync(path.join(repo, 'nodes', type, 'locales', 'en-US', `${type}.json`), 'utf8')));
}

/** i18next-style lookup with __name__ interpolation, as Node-RED does at run time. */
export function translate(key: string, vars: Record<string, unknown> = {}): string {
  const text = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], catalogues);
  if (typeof text !== 'string') return key;
  return text.replace(/__(\w+)__/g, (_, name: string) => String(vars[name] ?? ''));
}

type NodeModule = (RED: NodeAPI) => void;
const withCatalogue = (module: NodeModule): NodeModule => (RED) => {
  (RED as unknown as { _: typeof translate })._ = translate;
  module(RED);
};

export const ALL_NODES = [sensorNode, brokerNode, deviceNode, aggregateNode, filterNode, alarmNode, modelNode, inferNode, uplinkNode, updateNode, ingestNode].map(withCatalogue);
export { helper };

export function startServer(): Promise<void> {
  return new Promise((resolve) => helper.startServer(() => resolve()));
}

/**
 * Hooks for a describe block: a runtime whose nodes keep their state (setting edgeIntelligenceStateDir) in a
 * temporary directory, removed afterwards. Returns the directory.
 */
export function runtimeWithStateDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  before(async () => {
    helper.settings({ edgeIntelligenceStateDir: dir });
    await startServer();
  });
  after(async () => {
    await stopServer();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function stopServer(): Promise<void> {
  return new Promise((resolve) => helper.stopServer(() => resolve()));
}

const CONFIG_TYPES = new Set(['edge-mqtt-broker', 'edge-modbus-device', 'edge-model']);

/** Deploys a flow: flow nodes are put on one tab (nodes without a tab would be taken for config nodes). */
export function load(flow: object[], credentials: Record<string, object> = {}): Promise<void> {
  const nodes = [
    { id: 'tab', type: 'tab', label: 'test' },
    ...flow.map((n) => (CONFIG_TYPES.has((n as { type: string }).type) ? n : { z: 'tab', wires: [], ...n })),
  ];
  // a deploy that fails (a node that throws while the flow starts) rejects, rather than leaving the test waiting
  return new Promise((resolve, reject) => {
    Promise.resolve(helper.load(ALL_NODES as never, nodes, credentials, () => resolve())).catch(reject);
  });
}

/** A Catch node for one node's errors wired to a recorder, and a Complete node for its done() calls. */
export function watchers(id: string): object[] {
  return [
    { id: `${id}-catch`, type: 'catch', scope: [id], uncaught: false, wires: [[`${id}-caught`]] },
    recorder(`${id}-caught`),
    { id: `${id}-complete`, type: 'complete', scope: [id], uncaught: false, wires: [[`${id}-completed`]] },
    recorder(`${id}-completed`),
  ];
}

/** A helper node that records every message it receives. */
export function recorder(id: string): object {
  return { id, type: 'helper' };
}

export interface Recorded {
  messages: Array<Record<string, any>>;
}

export function record(id: string): Recorded {
  const node = helper.getNode(id) as Node;
  const rec: Recorded = { messages: [] };
  node.on('input', (msg: Record<string, unknown>) => rec.messages.push(msg));
  return rec;
}

export async function messages(rec: Recorded, count: number, what = `${count} messages`, timeoutMs = 10_000): Promise<Array<Record<string, any>>> {
  await waitFor(() => rec.messages.length >= count, what, timeoutMs);
  return rec.messages;
}

interface Spy {
  args: unknown[][];
  thisValues: unknown[];
}

/** Arguments of one node's calls of a Node method (the helper spies on Node.prototype, shared by all nodes). */
function callsOf(id: string, method: 'status' | 'error' | 'warn'): unknown[][] {
  const node = helper.getNode(id) as Record<string, unknown> | null;
  if (!node) throw new Error(`no node ${id} in the flow`);
  const spy = node[method] as Spy;
  return spy.args.filter((_, i) => spy.thisValues[i] === node);
}

/** Every status a node showed, in order. */
export function statuses(id: string): Array<{ fill?: string; shape?: string; text?: string }> {
  return callsOf(id, 'status').map((a) => a[0] as { fill?: string; shape?: string; text?: string });
}

export function lastStatus(id: string): { fill?: string; shape?: string; text?: string } | undefined {
  const all = statuses(id);
  return all[all.length - 1];
}

/** Calls of node.error: [text, msg]. */
export function errors(id: string): Array<[string, Record<string, unknown> | undefined]> {
  return callsOf(id, 'error').map((a) => [String(a[0] instanceof Error ? (a[0] as Error).message : a[0]), a[1] as Record<string, unknown>]);
}

/** Calls of node.warn, as text. */
export function warnings(id: string): string[] {
  return callsOf(id, 'warn').map((a) => String(a[0] instanceof Error ? (a[0] as Error).message : a[0]));
}

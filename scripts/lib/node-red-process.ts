/**
 * Starts Node-RED as a child process with a user directory of our making: used by the demo (`npm start`), the
 * end-to-end tests and the benchmarks, so that all three run the package the way a user's Node-RED does.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { delay } from './net-util';

export interface NodeRedOptions {
  userDir: string;
  port: number;
  host?: string;
  /** path of Node-RED's red.js (default: the node-red this repository depends on) */
  redJs?: string;
  /** flows written to flows.json before the start (left alone when undefined) */
  flows?: unknown[];
  /** extra settings merged into settings.js */
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** where stdout/stderr go: 'inherit' for the demo, a file path for tests */
  output: 'inherit' | string;
  startTimeoutMs?: number;
}

/** Node modules installed only as the benchmarks' baselines. */
export const BENCH_PEERS = ['node-red-node-smooth', 'node-red-contrib-aggregator'];

/** settings.js for an edge gateway: loopback only, no telemetry, no palette or module installs. */
export function settingsSource(options: NodeRedOptions): string {
  const settings = {
    uiHost: options.host ?? '127.0.0.1',
    uiPort: options.port,
    flowFile: 'flows.json',
    flowFilePretty: true,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    externalModules: { palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
    // function nodes may load Node.js's own modules (zlib, for the cloud view's decoder); nothing is installed
    functionExternalModules: true,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    // the peer nodes the benchmarks compare with are devDependencies here: a Node-RED run from this checkout shows our palette
    nodesExcludes: BENCH_PEERS,
    ...options.settings,
  };
  return `// Written by the Edge Intelligence launcher; edit the launcher, not this file.\nmodule.exports = ${JSON.stringify(settings, null, 2)};\n`;
}

export class NodeRedProcess {
  exitCode: number | null | undefined;
  private readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess, readonly url: string) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : null);
      resolve(this.exitCode);
    }));
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Stops Node-RED (SIGINT: a clean shutdown that closes every node); SIGKILL kills it on the spot. */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 10_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** An admin API request (JSON in and out). */
  async api<T = unknown>(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return (text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T;
  }

  /** Replaces every flow (a full deploy). */
  async deploy(flows: unknown[]): Promise<void> {
    await this.api('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full' });
  }
}

/**
 * A flow of one tab: flow nodes (those with `z`) are put on it, each on a place of its own (a node without one is
 * taken for a config node); config nodes stay as they are.
 */
export function onTab(label: string, nodes: Array<Record<string, unknown>>): unknown[] {
  return [{ id: 'tab', type: 'tab', label }, ...nodes.map((n, i) => (n.z ? { x: 200, y: 60 + 40 * i, ...n } : n))];
}

/** Links a package into a user dir's node_modules, as `npm install <path>` would, without a copy. */
export function linkPackage(userDir: string, name: string, target: string): void {
  const link = path.join(userDir, 'node_modules', ...name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  if (!fs.existsSync(link)) fs.symlinkSync(path.relative(path.dirname(link), target), link, 'dir');
}

export async function startNodeRed(options: NodeRedOptions): Promise<NodeRedProcess> {
  fs.mkdirSync(options.userDir, { recursive: true });
  const settingsFile = path.join(options.userDir, 'settings.js');
  fs.writeFileSync(settingsFile, settingsSource(options));
  if (options.flows) fs.writeFileSync(path.join(options.userDir, 'flows.json'), JSON.stringify(options.flows, null, 2));
  const redJs = options.redJs ?? require.resolve('node-red/red.js');
  const host = options.host ?? '127.0.0.1';
  const out = options.output === 'inherit' ? 'inherit' : fs.openSync(options.output, 'a');
  const child = spawn(process.execPath, [redJs, '--userDir', options.userDir, '--settings', settingsFile, '--port', String(options.port)], {
    // glibc gives every thread that allocates an arena of its own; onnxruntime's and SQLite's threads make that
    // about 20 MiB of a gateway's memory for nothing (a value set by the user wins)
    env: { MALLOC_ARENA_MAX: '2', ...process.env, ...options.env },
    stdio: ['ignore', out, out],
  });
  if (typeof out === 'number') fs.closeSync(out);
  const red = new NodeRedProcess(child, `http://${host}:${options.port}`);
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (!red.running) throw new Error(`Node-RED exited with code ${red.exitCode} while starting`);
    try {
      const res = await fetch(`${red.url}/settings`, { headers: { Accept: 'application/json' } });
      if (res.ok) return red;
    } catch {
      // not listening yet
    }
    await delay(100);
  }
  await red.stop('SIGKILL');
  throw new Error(`Node-RED did not answer on ${red.url} within ${options.startTimeoutMs ?? 60_000} ms`);
}

/**
 * The demo's memory: RSS of its Node-RED process (our nodes, the demo flows, the dashboard, the models serving)
 * after two minutes, against a Node-RED started the same way with an empty flow, and against one running the demo's
 * flows without our nodes (the dashboard and its pages alone): all three at once.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startNodeRed } from '../scripts/lib/node-red-process';
import { delay, freePort, waitFor } from '../scripts/lib/net-util';
import { scratchDir } from './runtime';
import { figure, Figure } from './report';

const SETTLE_MS = Number(process.env.EDGE_BENCH_SETTLE_MS ?? 120_000);

/** RSS in MiB of a process (undefined once it is gone). */
function rssMib(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The Node-RED the demo launcher started: its child process (Node-RED renames itself, so found by parentage). */
function childOf(pid: number): number | undefined {
  try {
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return children[0];
  } catch {
    return undefined;
  }
}

export async function benchMemory(): Promise<Figure[]> {
  const demoDir = path.join(scratchDir('demo'), 'user');
  const bareDir = path.join(scratchDir('bare'), 'user');
  const dashboardDir = path.join(scratchDir('dashboard'), 'user');
  const ports = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => freePort()));
  const demo = spawn(process.execPath, [path.join(__dirname, '..', 'scripts', 'demo.js')], {
    env: {
      ...process.env, EDGE_DEMO_USER_DIR: demoDir, EDGE_DEMO_PORT: String(ports[0]), EDGE_DEMO_MQTT_PORT: String(ports[1]),
      EDGE_DEMO_MODBUS_PORT: String(ports[2]), EDGE_DEMO_CLOUD_LINK_PORT: String(ports[3]), EDGE_DEMO_REGISTRY_PORT: String(ports[4]),
    },
    stdio: 'ignore',
  });
  let bare: Awaited<ReturnType<typeof startNodeRed>> | undefined;
  let dashboard: Awaited<ReturnType<typeof startNodeRed>> | undefined;
  try {
    bare = await startNodeRed({ userDir: bareDir, port: ports[5], flows: [], output: path.join(bareDir, '..', 'node-red.log') });
    await waitFor(() => childOf(demo.pid!) !== undefined && fs.existsSync(path.join(demoDir, 'flows.json')), 'the demo\'s Node-RED', 60_000);
    const flows = JSON.parse(fs.readFileSync(path.join(demoDir, 'flows.json'), 'utf8')) as Array<{ type: string }>;
    dashboard = await startNodeRed({ userDir: dashboardDir, port: ports[6], flows: flows.filter((n) => !n.type.startsWith('edge-')), output: path.join(dashboardDir, '..', 'node-red.log') });
    await delay(SETTLE_MS);
    const ours = rssMib(childOf(demo.pid!)!);
    const empty = rssMib(bare.child.pid!);
    const dashboardOnly = rssMib(dashboard.child.pid!);
    if (ours === undefined || empty === undefined || dashboardOnly === undefined) {
      throw new Error(`a Node-RED process went away during the memory bench (demo ${ours}, empty ${empty}, dashboard ${dashboardOnly} MiB)`);
    }
    return [
      figure('demo_rss_mib_after_2_min', ours, 'MiB', empty, 'Node-RED started the same way with an empty flow, at the same time', 'measured'),
      figure('demo_rss_mib_after_2_min_vs_its_dashboard', ours, 'MiB', dashboardOnly, 'the demo flows without our nodes (the dashboard and its pages), at the same time', 'measured'),
    ];
  } finally {
    demo.kill('SIGINT');
    await bare?.stop();
    await dashboard?.stop();
    await new Promise((resolve) => (demo.exitCode === null ? demo.once('exit', resolve) : resolve(undefined)));
  }
}

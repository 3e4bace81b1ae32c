/**
 * The package as a user gets it: `npm pack`, then the tarball installed into a fresh Node-RED user directory.
 * Done once per test run and shared by every end-to-end test (installing compiles native dependencies).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..');
/**
 * The limit for slow set-up steps (installing the packed package compiles better-sqlite3; starting Node-RED and
 * Chromium), sized for a 2-core machine busy with other work: they take about a minute on an idle one.
 */
export const SETUP_TIMEOUT_MS = 15 * 60_000;
export const PACKAGE = '@edge-intelligence/node-red-nodes';
let installed: Promise<string> | undefined;

/**
 * npm as a user runs it from a shell: the machine's npm, not one a dev dependency put in node_modules/.bin (npm run
 * puts that first on the PATH), and none of the `npm_*` variables of the npm that started the tests, so the user
 * directory's own package.json decides.
 */
function npm(args: string[], cwd: string): string {
  // node-gyp's headers are the exception: a matrix row points them at its own Node's (scripts/matrix.ts)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || k === 'npm_config_nodedir'));
  env.PATH = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => !dir.split(path.sep).includes('node_modules')).join(path.delimiter);
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, npm_config_update_notifier: 'false' } });
}

/** Path of a user directory with the packed package installed in it. */
export function installedUserDir(): Promise<string> {
  installed ??= (async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-e2e-'));
    const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], REPO)) as Array<{ filename: string }>;
    const tarball = path.join(work, path.basename(packed[0].filename));
    const userDir = path.join(work, 'userdir');
    fs.mkdirSync(userDir);
    // as the README tells a user: better-sqlite3 may build its native module; onnxruntime-node's download of CUDA
    // libraries (which a CPU gateway does not use, and which needs the internet) is declined
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, allowScripts: { '@serialport/bindings-cpp': true, 'better-sqlite3': true, 'onnxruntime-node': false } }));
    npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball], userDir);
    return userDir;
  })();
  return installed;
}

/** Files the published tarball contains (from the installed copy). */
export function installedFiles(userDir: string): string[] {
  const root = path.join(userDir, 'node_modules', PACKAGE);
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

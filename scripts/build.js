'use strict';
// The build, incremental: `node scripts/build.js` compiles the package (dist/, what Node-RED loads) and the tests,
// scripts and benchmarks (build/); `node scripts/build.js dist` the package alone. Each part is compiled only when
// a source is newer than its last build, so a second `npm start` goes straight to the demo. Outputs whose source
// was deleted are removed, so no stale test or node is ever run.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
// one record per checkout: a second working tree that shares node_modules keeps its own
const cache = path.join(root, 'node_modules', '.cache', 'edge-build', require('crypto').createHash('sha1').update(root).digest('hex').slice(0, 12));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** The newest modification time under the given folders (files only, node_modules and outputs left out). */
function newest(dirs) {
  let latest = 0;
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else latest = Math.max(latest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of dirs) {
    const p = path.join(root, d);
    if (!fs.existsSync(p)) continue;
    if (fs.statSync(p).isDirectory()) walk(p);
    else latest = Math.max(latest, fs.statSync(p).mtimeMs);
  }
  return latest;
}

/** Removes compiled files whose TypeScript source is gone. */
function prune(outDir, sourceRoot) {
  const walk = (dir) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(p);
        if (fs.readdirSync(p).length === 0) fs.rmdirSync(p);
        continue;
      }
      const m = /^(.*)\.(js|js\.map|d\.ts)$/.exec(e.name);
      if (!m) continue;
      const source = path.join(sourceRoot, path.relative(outDir, dir), `${m[1]}.ts`);
      if (!fs.existsSync(source)) fs.rmSync(p);
    }
  };
  walk(outDir);
}

/** Compiles one project when its inputs changed since the last time; returns whether it did. */
function part(name, { project, inputs, outDir, sourceRoot, after }) {
  const stamp = path.join(cache, `${name}.stamp`);
  const built = fs.existsSync(stamp) && fs.existsSync(path.join(root, outDir)) ? fs.statSync(stamp).mtimeMs : 0;
  const changed = newest([...inputs, project, 'package.json', 'tsconfig.json']);
  if (built && changed <= built) return false;
  const started = Date.now();
  process.stdout.write(`building ${outDir}/ (${built ? 'changed sources' : 'first build'}) ... `);
  fs.mkdirSync(cache, { recursive: true });
  const startedAt = new Date();
  const info = path.join(cache, `${name}.tsbuildinfo`);
  // tsc's own record would say "up to date" for an output folder someone deleted
  if (!fs.existsSync(path.join(root, outDir))) fs.rmSync(info, { force: true });
  execFileSync(process.execPath, [tsc, '-p', project, '--incremental', '--tsBuildInfoFile', info], { cwd: root, stdio: 'inherit' });
  prune(path.join(root, outDir), path.join(root, sourceRoot));
  if (after) after();
  fs.writeFileSync(stamp, '');
  // a source saved during the build is newer than the stamp, so the next run compiles it
  fs.utimesSync(stamp, startedAt, startedAt);
  console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

function packageAssets() {
  execFileSync(process.execPath, [path.join(__dirname, 'copy-assets.js')], { cwd: root, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(__dirname, 'bundle-editor.js')], { cwd: root, stdio: 'inherit' });
}

const only = process.argv[2];
part('dist', { project: 'tsconfig.dist.json', inputs: ['nodes', 'icons', 'scripts/copy-assets.js', 'scripts/bundle-editor.js'], outDir: 'dist', sourceRoot: 'nodes', after: packageAssets });
if (only !== 'dist') part('build', { project: 'tsconfig.json', inputs: ['nodes', 'test', 'scripts', 'bench'], outDir: 'build', sourceRoot: '.' });

'use strict';
// Runs the Node-RED Flow Library scorecard (node-red-dev validate) on this package and fails on any failed check,
// which node-red-dev itself only prints. Offline, preload a stand-in for the catalogue download with NODE_OPTIONS.
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.resolve(__dirname, '..');
const run = spawnSync(process.execPath, [require.resolve('node-red-dev/bin/run'), 'validate', '-p', root], {
  cwd: root,
  encoding: 'utf8',
});
const output = `${run.stdout || ''}${run.stderr || ''}`;
process.stdout.write(output);
// a node whose HTML the scorecard cannot read (a registerType whose definition is not a literal) is only printed
const failed = output.split('\n').filter((line) => line.includes('❌') || line.startsWith('Unable to parse'));
if (run.status !== 0 || failed.length > 0 || !/Complete/.test(output)) {
  console.error(`node-red-dev validate failed (exit ${run.status}, ${failed.length} failed check(s))`);
  process.exit(1);
}

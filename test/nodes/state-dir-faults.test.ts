/**
 * A state directory Node-RED cannot write (a read-only mount, as on a gateway whose SD card was remounted
 * read-only after an error): every node that keeps state says so at deploy, in words, and moves nothing.
 * Root ignores file permissions, so the directory is made read-only by a bind mount (which needs root, as CI has).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DurableQueue } from '../../nodes/core/uplink/durable-queue';
import { startAedes, EmbeddedBroker } from '../../scripts/lib/aedes-broker';
import { freePort, waitFor } from '../../scripts/lib/net-util';
import { errors, helper, lastStatus, load, recorder, runtimeWithStateDir } from '../support/red';
import { tempDir } from '../support/models';

/** Makes `dir` read-only in place; returns the undo. Throws when this user may not mount. */
function readOnly(dir: string): () => void {
  execFileSync('mount', ['--bind', dir, dir], { stdio: 'pipe' });
  execFileSync('mount', ['-o', 'remount,bind,ro', dir], { stdio: 'pipe' });
  return () => execFileSync('umount', [dir], { stdio: 'pipe' });
}

describe('nodes: a state directory that cannot be written', function () {
  this.timeout(30_000);
  const stateDir = runtimeWithStateDir('edge-readonly-state-');
  let broker: EmbeddedBroker;
  let undo: (() => void) | undefined;
  before(function () {
    try {
      readOnly(stateDir)();
    } catch (err) {
      console.log(`      (skipped: a read-only bind mount needs root: ${(err as Error).message.split('\n')[0]})`);
      this.skip();
    }
  });
  beforeEach(async () => {
    broker = await startAedes(await freePort());
  });
  afterEach(async () => {
    await helper.unload();
    await broker.close();
    undo?.();
    undo = undefined;
  });

  it('edge-uplink says the directory cannot be written, and leaves a healthy database where it is', async () => {
    const dir = path.join(stateDir, 'uplink');
    const q = new DurableQueue(path.join(dir, 'up.db'), { durability: 'fsync', maxBytes: 0, maxAgeMs: 0, onFull: 'drop-oldest' });
    q.enqueue([{ topic: 't', ts: 1, body: '1' }]);
    q.close();
    const before = fs.readdirSync(dir).sort();
    undo = readOnly(dir);
    await load([
      { id: 'cloud', type: 'edge-mqtt-broker', url: `mqtt://127.0.0.1:${broker.port}`, clientId: '', protocolVersion: '4', clean: true, keepalive: '30', rejectUnauthorized: true },
      { id: 'up', type: 'edge-uplink', broker: 'cloud', topic: '', qos: '1', durability: 'fsync', wires: [[], []] },
    ]);
    await waitFor(() => lastStatus('up')?.fill === 'red', 'the config error shown');
    assert.match(errors('up')[0][0], /the state directory .*uplink cannot be written \(EROFS\)/);
    assert.doesNotMatch(errors('up')[0][0], /ENOENT|mkdir/);
    undo();
    undo = undefined;
    assert.deepEqual(fs.readdirSync(dir).sort(), before, 'nothing moved aside');
  });

  it('edge-alarm says at deploy that its states will not survive a restart', async () => {
    fs.mkdirSync(path.join(stateDir, 'alarms'), { recursive: true });
    undo = readOnly(path.join(stateDir, 'alarms'));
    await load([{ id: 'al', type: 'edge-alarm', alarms: [{ id: 'hot', path: 'payload', kind: 'high', limit: '80', deadband: '0', onDelay: '0', offDelay: '0', priority: '500', unit: '', message: '' }], persist: true, wires: [[], []] }]);
    await waitFor(() => errors('al').length > 0, 'the error at deploy');
    assert.match(errors('al')[0][0], /the state directory .*alarms cannot be written \(EROFS\).*will not survive a restart/);
  });

  it('edge-model-update is created, and says which directory cannot be written', async () => {
    fs.mkdirSync(path.join(stateDir, 'model-update'), { recursive: true });
    undo = readOnly(path.join(stateDir, 'model-update'));
    await load([
      { id: 'model', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: tempDir(), file: '', pollInterval: '1' },
      { id: 'update', type: 'edge-model-update', model: 'model', source: 'directory', directory: tempDir(), interval: '1', requireSignature: false, wires: [[]] },
      recorder('reports'),
    ]);
    assert.ok(helper.getNode('update'), 'the node exists');
    await waitFor(() => errors('update').length > 0, 'the error at deploy');
    assert.match(errors('update')[0][0], /cannot be written \(EROFS/);
  });
});

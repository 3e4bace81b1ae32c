import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compareVersions, validateManifest } from '../../../nodes/core/models/model-manifest';
import { CrashPoint, ModelStore, sha256Hex } from '../../../nodes/core/models/model-store';
import { FileModel, StoreModel } from '../../../nodes/core/models/model-binding';
import { waitFor } from '../../../scripts/lib/net-util';
import { asVersion, model, tempDir } from '../../support/models';

const anomaly = () => model('pump-anomaly');

function install(store: ModelStore, version: string, activate = true) {
  const v = asVersion(anomaly(), version);
  store.install(v.manifest, v.onnx);
  if (activate) store.activate('pump-anomaly', version);
}

describe('core: model store', () => {
  it('installs, activates, lists and rolls back versions; readers are told', () => {
    const store = new ModelStore(tempDir());
    const seen: string[] = [];
    store.on('active', (name: string, version: string, previous?: string) => seen.push(`${name} ${previous ?? '-'}->${version}`));
    install(store, '1');
    install(store, '2');
    install(store, '10', false);
    assert.deepEqual(store.versions('pump-anomaly').map((v) => v.version), ['1', '2', '10'], 'numeric order');
    assert.equal(store.active('pump-anomaly')!.version, '2');
    assert.deepEqual(store.pointer('pump-anomaly')!.previous, '1');
    store.activate('pump-anomaly', '10');
    assert.equal(store.rollback('pump-anomaly').version, '2');
    assert.deepEqual(seen, ['pump-anomaly -->1', 'pump-anomaly 1->2', 'pump-anomaly 2->10', 'pump-anomaly 10->2']);
    assert.deepEqual(store.models(), ['pump-anomaly']);
    const file = fs.readFileSync(store.active('pump-anomaly')!.file);
    assert.equal(sha256Hex(file), anomaly().manifest.sha256);
  });

  it('refuses a sha256 mismatch, a reinstall, unsafe names and an invalid manifest', () => {
    const store = new ModelStore(tempDir());
    const m = anomaly();
    const tampered = Uint8Array.from(m.onnx);
    tampered[tampered.length - 1] ^= 1;
    assert.throws(() => store.install(m.manifest, tampered), /the model's sha256 is [0-9a-f]{64}, the manifest says/);
    store.install(m.manifest, m.onnx);
    assert.throws(() => store.install(m.manifest, m.onnx), /version 1 of pump-anomaly is already installed/);
    for (const bad of ['../x', '..', '.hidden', 'a/b', '']) {
      assert.throws(() => store.install({ ...m.manifest, version: bad }, m.onnx), /invalid manifest: "version" must be/, bad);
      assert.throws(() => store.activate(bad || 'x/y', '1'), /is not a valid model name/);
    }
    assert.deepEqual(validateManifest({ name: 'm', version: '1', sha256: 'x', created: 'never', threshold: 'high', features: ['a'], preprocessing: { scale: [1, 2], offset: [0] } }), [
      '"sha256" must be 64 lower-case hex digits', '"created" must be an ISO date', '"threshold" must be a number',
      '"preprocessing" must have "scale" and "offset" with one number per feature',
    ]);
    assert.throws(() => store.activate('pump-anomaly', '7'), /version 7 of pump-anomaly is not installed/);
  });

  it('orders versions as people number them', () => {
    const sorted = ['1.10.0', '1.2.9', '2', '1.0.0-rc1', '1.0.0', '10', '1.2.10'].sort(compareVersions);
    assert.deepEqual(sorted, ['1.0.0-rc1', '1.0.0', '1.2.9', '1.2.10', '1.10.0', '2', '10']);
  });

  it('a version marked bad is skipped by readers: the previous good one is served', () => {
    const store = new ModelStore(tempDir());
    install(store, '1');
    install(store, '2');
    install(store, '3');
    store.markBad('pump-anomaly', '3', 'warm-up failed');
    const a = store.active('pump-anomaly')!;
    assert.deepEqual([a.version, a.fallbackFrom], ['2', '3']);
    assert.equal(store.versions('pump-anomaly').find((v) => v.version === '3')!.bad, 'warm-up failed');
    store.markBad('pump-anomaly', '2', 'also bad');
    assert.equal(store.active('pump-anomaly')!.version, '1');
    assert.equal(store.rollback('pump-anomaly').version, '1');
    // an explicit activation is a retry: the mark goes
    store.activate('pump-anomaly', '3');
    assert.equal(store.active('pump-anomaly')!.version, '3');
  });

  it('prunes old versions but keeps the active and the previous one', () => {
    const store = new ModelStore(tempDir());
    for (const v of ['1', '2', '3', '4', '5']) install(store, v);
    store.activate('pump-anomaly', '2');
    assert.deepEqual(store.prune('pump-anomaly', 1), ['1', '3', '4']);
    assert.deepEqual(store.versions('pump-anomaly').map((v) => v.version), ['2', '5']);
  });

  it('a crash at any step of install or activate leaves the old or the new version, never a broken store', () => {
    const steps: Array<Parameters<CrashPoint>[0]> = ['install:written', 'install:renamed', 'activate:written'];
    for (const step of steps) {
      const root = tempDir();
      const store = new ModelStore(root);
      install(store, '1');
      store.crashPoint = (at) => {
        if (at === step) throw new Error(`power lost at ${at}`);
      };
      assert.throws(() => install(store, '2'), /power lost/);
      // after the "reboot": a new process opens the store
      const after = new ModelStore(root);
      const leftovers = after.recover('pump-anomaly');
      const active = after.active('pump-anomaly')!;
      assert.equal(active.version, '1', `${step}: the pointer was not switched`);
      assert.equal(sha256Hex(fs.readFileSync(active.file)), active.manifest.sha256, `${step}: the served model is whole`);
      const installed = after.versions('pump-anomaly').map((v) => v.version);
      assert.deepEqual(installed, step === 'install:written' ? ['1'] : ['1', '2'], `${step}: a version is there whole or not at all`);
      assert.equal(leftovers.length, step === 'install:renamed' ? 0 : 1, `${step}: temporary files are cleaned up`);
      assert.deepEqual(fs.readdirSync(path.join(root, 'pump-anomaly')).filter((e) => e.startsWith('.') || e.includes('tmp')), []);
      // and the interrupted update can be completed
      if (!installed.includes('2')) after.install(asVersion(anomaly(), '2').manifest, anomaly().onnx);
      after.activate('pump-anomaly', '2');
      assert.equal(after.active('pump-anomaly')!.version, '2');
    }
  });

  it('readers follow a change made by another process (a second store object on the same directory)', async () => {
    const root = tempDir();
    install(new ModelStore(root), '1');
    const reader = new StoreModel(new ModelStore(root), 'pump-anomaly', 100);
    const seen: string[] = [];
    const stop = reader.subscribe((s) => seen.push(s?.version ?? 'none'));
    install(new ModelStore(root), '2');
    await waitFor(() => seen.length === 2, 'the change', 3000);
    stop();
    assert.deepEqual(seen, ['1', '2']);
  });

  it('a damaged pointer written while readers watch is reported and the newest good version served, never a throw', async () => {
    const root = tempDir();
    const store = new ModelStore(root);
    install(store, '1');
    install(store, '2');
    install(store, '3', false);
    store.markBad('pump-anomaly', '3', 'test');
    const pointerFile = path.join(root, 'pump-anomaly', 'active.json');
    const reader = new StoreModel(new ModelStore(root), 'pump-anomaly', 50);
    const seen: string[] = [];
    const stop = reader.subscribe((s) => seen.push(`${s?.version}${s?.warning ? ' !' : ''}`));
    const damaged = ['{"version":"../../../etc"}', '{"version":5}', '[]', 'null', '{"version":"1","previous":"/x"}', '{not json'];
    for (const text of damaged) {
      fs.writeFileSync(pointerFile, text);
      const active = store.active('pump-anomaly')!;
      assert.equal(active.version, '2', `${text}: the newest good version`);
      assert.match(active.pointerProblem ?? '', /pointer/, text);
      assert.equal(store.pointer('pump-anomaly'), undefined, text);
      assert.ok(fs.existsSync(pointerFile), `${text}: the damaged pointer is left for a person to mend`);
    }
    await waitFor(() => seen.includes('2 !'), 'the damage reported to the reader', 3000);
    assert.doesNotThrow(() => new StoreModel(new ModelStore(root), 'pump-anomaly', 50).current());
    store.activate('pump-anomaly', '1');
    await waitFor(() => seen[seen.length - 1] === '1', 'the mended pointer', 3000);
    stop();
    assert.equal(seen[0], '2');
  });

  it('a plain .onnx file: its sha256 is the version, replacing the file is a new version', async () => {
    const dir = tempDir('edge-file-');
    const file = path.join(dir, 'detector.onnx');
    fs.writeFileSync(file, model('pump-anomaly').onnx);
    const handle = new FileModel(file, 100);
    const seen: string[] = [];
    const stop = handle.subscribe((s) => seen.push(`${s?.name}@${s?.version}`));
    fs.writeFileSync(`${file}.tmp`, model('pump-classifier').onnx);
    fs.renameSync(`${file}.tmp`, file);
    await waitFor(() => seen.length === 2, 'the new file', 3000);
    stop();
    assert.deepEqual(seen, [`detector@${model('pump-anomaly').manifest.sha256.slice(0, 8)}`, `detector@${model('pump-classifier').manifest.sha256.slice(0, 8)}`]);
    // a manifest beside it names the version when it describes this very file
    fs.writeFileSync(path.join(dir, 'detector.manifest.json'), JSON.stringify(model('pump-classifier').manifest));
    const named = new FileModel(file, 100).current()!;
    assert.deepEqual([named.name, named.version, named.manifest?.labels?.length], ['pump-classifier', '1', 4]);
  });
});

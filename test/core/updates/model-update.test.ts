import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelStore, sha256Hex } from '../../../nodes/core/models/model-store';
import { ModelUpdater, UpdateReport } from '../../../nodes/core/updates/model-updater';
import { SessionPool } from '../../../nodes/core/inference/session-pool';
import { download } from '../../../nodes/core/updates/update-fetch';
import { canonicalJson, parseTrustedKeys, SignedManifest, signManifest, UpdateManifest, UpdateRefused, verifyArtifact, verifyManifest, VerifyOptions, resolveArtifact } from '../../../nodes/core/updates/update-manifest';
import { HttpManifestSource } from '../../../nodes/core/updates/update-sources';
import { inRollout, rolloutPosition } from '../../../nodes/core/updates/rollout';
import { makeKeyPair, packageModel, RegistryServer } from '../../../scripts/lib/registry';
import { failingModel, model, tempDir } from '../../support/models';

const key = makeKeyPair('cloud-1');
const other = makeKeyPair('cloud-1'); // the same id, another key: an impostor
const keys = parseTrustedKeys(`# the fleet's signing key\n${key.trustLine}\n`).keys;

function manifestOf(version: string, extra: Partial<UpdateManifest> = {}): UpdateManifest {
  const m = model('pump-anomaly');
  return { ...m.manifest, version, artifact: `${version}/model.onnx`, size: m.onnx.length, expires: new Date(Date.now() + 86_400_000).toISOString(), ...extra };
}

const options = (o: Partial<VerifyOptions> = {}): VerifyOptions => ({
  keys, requireSignature: true, model: 'pump-anomaly', highest: '1', maxBytes: 1_048_576, packageVersion: '0.1.0', now: Date.now(), ...o,
});

async function waitUntil(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setImmediate(r));
}

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UpdateRefused, `an UpdateRefused, not ${String(err)}`);
    return err.code;
  }
  assert.fail('not refused');
}

/** The model's score for a row, straight from onnxruntime (with the manifest's preprocessing). */
async function score(onnx: Uint8Array, row: number[]): Promise<number[]> {
  const m = model('pump-anomaly').manifest;
  const z = row.map((v, j) => v * m.preprocessing!.scale[j] + m.preprocessing!.offset[j]);
  const s = await ort.InferenceSession.create(onnx);
  const out = await s.run({ features: new ort.Tensor('float32', Float32Array.from(z), [1, 8]) });
  await s.release();
  return Array.from(out.score.data as Float32Array);
}

describe('core: model update manifests', () => {
  it('signs canonical JSON: key order and spacing do not matter, every field does', () => {
    assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: 'x' }] }), '{"a":[1,{"c":"x","d":2}],"b":1}');
    const signed = signManifest(manifestOf('2'), key.privateKey, key.keyId);
    const reordered = JSON.parse(JSON.stringify({ signature: signed.signature, manifest: Object.fromEntries(Object.entries(signed.manifest).reverse()) }));
    assert.equal(verifyManifest(reordered, options()).version, '2');
  });

  it('refuses every way a manifest can be wrong, each with its own code', () => {
    const good = signManifest(manifestOf('2'), key.privateKey, key.keyId);
    const tampered = (change: Partial<UpdateManifest>): SignedManifest => ({ ...good, manifest: { ...good.manifest, ...change } });
    assert.equal(refused(() => verifyManifest(tampered({ threshold: 99 }), options())), 'bad-signature', 'a tampered field');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('2'), other.privateKey, 'cloud-1'), options())), 'bad-signature', 'the wrong key under a trusted id');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('2'), other.privateKey, 'cloud-9'), options())), 'unknown-key');
    assert.equal(refused(() => verifyManifest({ manifest: manifestOf('2') }, options())), 'unsigned');
    assert.equal(verifyManifest({ manifest: manifestOf('2') }, options({ requireSignature: false })).version, '2', 'unsigned allowed when not required');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('2', { expires: new Date(Date.now() - 1000).toISOString() }), key.privateKey, key.keyId), options())), 'expired');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('1'), key.privateKey, key.keyId), options())), 'downgrade', 'the same version again');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('0.9'), key.privateKey, key.keyId), options())), 'downgrade', 'an older version');
    assert.equal(verifyManifest(signManifest(manifestOf('0.9'), key.privateKey, key.keyId), options({ pinned: '0.9' })).version, '0.9', 'pinned by the operator');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('../../etc'), key.privateKey, key.keyId), options())), 'unsafe-name');
    assert.equal(refused(() => verifyManifest(signManifest({ ...manifestOf('2'), name: '..' }, key.privateKey, key.keyId), options())), 'unsafe-name');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('2', { size: 2_000_000 }), key.privateKey, key.keyId), options())), 'too-large');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('2', { minPackageVersion: '9.0.0' }), key.privateKey, key.keyId), options())), 'package-too-old');
    assert.equal(refused(() => verifyManifest(signManifest({ ...manifestOf('2'), name: 'pump-classifier' }, key.privateKey, key.keyId), options())), 'wrong-model');
    assert.equal(refused(() => verifyManifest({ hello: 1 }, options())), 'malformed');
    assert.equal(refused(() => verifyManifest(signManifest(manifestOf('2', { size: -1 }), key.privateKey, key.keyId), options())), 'malformed');
    // the artifact
    const m = manifestOf('2');
    const bytes = Buffer.from(model('pump-anomaly').onnx);
    bytes[bytes.length - 5] ^= 1;
    assert.equal(refused(() => verifyArtifact(m, bytes.length, require('node:crypto').createHash('sha256').update(bytes).digest('hex'))), 'sha256-mismatch', 'a tampered byte');
    assert.equal(refused(() => verifyArtifact(m, m.size + 1, m.sha256)), 'size-mismatch');
    assert.equal(refused(() => resolveArtifact({ ...m, artifact: '../../../etc/passwd' }, { dir: '/media/usb/pump-anomaly' })), 'unsafe-artifact');
    assert.equal(refused(() => resolveArtifact({ ...m, artifact: 'file:///etc/passwd' }, { url: 'https://registry.example/pump-anomaly/manifest.json' })), 'unsafe-artifact');
    assert.deepEqual(resolveArtifact(m, { url: 'https://registry.example/pump-anomaly/manifest.json' }), { url: 'https://registry.example/pump-anomaly/2/model.onnx' });
  });

  it('reads trusted keys as raw base64 or a PEM body, and names the lines it cannot read', () => {
    const pem = key.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const spki = require('node:crypto').createPublicKey(pem).export({ format: 'der', type: 'spki' }).toString('base64');
    const parsed = parseTrustedKeys(`a ${key.trustLine.split(' ')[1]}\nb ${spki}\nc not-a-key\n`);
    assert.deepEqual([...parsed.keys.keys()], ['a', 'b']);
    assert.equal(parsed.problems.length, 1);
    assert.deepEqual([parsed.problems[0].key, parsed.problems[0].vars?.line], ['keyUnreadable', 3]);
    assert.deepEqual(parseTrustedKeys('a b c').problems, [{ key: 'keyLine', vars: { line: 1 } }]);
  });
});

describe('core: model update downloads and the updater', function () {
  this.timeout(60_000);
  let registryDir: string;
  let server: RegistryServer;
  beforeEach(async () => {
    registryDir = tempDir('edge-registry-');
    server = new RegistryServer(registryDir);
    await server.start();
  });
  afterEach(async () => {
    await server.stop();
  });

  const publish = (version: string, onnx = model('pump-anomaly').onnx, samples?: Array<{ input: unknown; expected: Record<string, number[]> }>) =>
    packageModel({ registry: registryDir, manifest: { ...model('pump-anomaly').manifest, version }, onnx, key, samples });

  it('downloads through a slow link, resumes a dropped one with a range, restarts where ranges are not offered', async () => {
    const big = Buffer.alloc(300_000, 7);
    fs.mkdirSync(path.join(registryDir, 'x'), { recursive: true });
    fs.writeFileSync(path.join(registryDir, 'x', 'model.onnx'), big);
    const file = path.join(tempDir('edge-dl-'), 'part');
    const progress: number[] = [];
    server.faults = { rate: 1_000_000 };
    const slow = await download(`${server.url}/x/model.onnx`, file, { maxBytes: 1_000_000, idleTimeoutMs: 5000, attempts: 3, onProgress: (r) => progress.push(r) });
    assert.deepEqual([slow.bytes, slow.connections], [300_000, 1]);
    assert.ok(progress.length > 5 && progress[progress.length - 1] === 300_000, 'progress reported');
    server.faults = { dropAfter: 100_000, drops: 2 };
    const resumed = await download(`${server.url}/x/model.onnx`, file, { maxBytes: 1_000_000, idleTimeoutMs: 5000, attempts: 5 });
    assert.deepEqual([resumed.bytes, resumed.connections, resumed.refetched], [300_000, 3, 0], 'two drops, resumed twice');
    const tries = server.log.slice(-3);
    assert.deepEqual(tries.map((l) => l.status), [200, 206, 206]);
    const starts = tries.map((l) => Number(/^bytes=(\d+)-$/.exec(l.range ?? 'bytes=0-')![1]));
    assert.ok(starts[0] === 0 && starts[1] > 0 && starts[2] > starts[1], `each resumed where the last stopped: ${starts.join(', ')}`);
    assert.equal(sha256Hex(fs.readFileSync(file)), sha256Hex(big), 'the resumed file is the whole file');
    server.faults = { dropAfter: 100_000, drops: 1, noRanges: true };
    const restarted = await download(`${server.url}/x/model.onnx`, file, { maxBytes: 1_000_000, idleTimeoutMs: 5000, attempts: 3 });
    assert.deepEqual([restarted.bytes, restarted.connections], [300_000, 2]);
    assert.ok(restarted.refetched > 0 && restarted.refetched <= 100_000, `the first part fetched again (${restarted.refetched} bytes)`);
    server.faults = {};
    await assert.rejects(download(`${server.url}/x/model.onnx`, file, { maxBytes: 1000, idleTimeoutMs: 5000, attempts: 3 }), (e: Error) => e instanceof UpdateRefused && e.code === 'too-large');
    server.faults = { rate: 100 }; // 16 KiB chunks at 100 B/s: the second chunk never comes in time
    await assert.rejects(download(`${server.url}/x/model.onnx`, file, { maxBytes: 1_000_000, idleTimeoutMs: 300, attempts: 1 }), /no data for 300 ms/);
  });

  it('an unchanged manifest costs one conditional request and no manifest bytes', async () => {
    publish('2');
    const source = new HttpManifestSource(`${server.url}/pump-anomaly/manifest.json`, 5000);
    assert.ok(await source.check(), 'the first check fetches it');
    const first = source.counters.bytes;
    assert.equal(await source.check(), undefined);
    assert.equal(await source.check(), undefined);
    assert.deepEqual([source.counters.requests, source.counters.unchanged, source.counters.bytes], [3, 2, first]);
    assert.deepEqual(server.log.map((l) => l.status), [200, 304, 304]);
  });

  function updater(store: ModelStore, extra: Partial<ConstructorParameters<typeof ModelUpdater>[0]> = {}): { u: ModelUpdater; reports: UpdateReport[] } {
    const state = tempDir('edge-updater-');
    const u = new ModelUpdater({
      store, model: 'pump-anomaly', keys, requireSignature: true, maxBytes: 10_000_000, idleTimeoutMs: 5000, attempts: 3,
      probationRuns: 3, keep: 2, stateFile: path.join(state, 'state.json'), tempDir: path.join(state, 'downloads'), packageVersion: '0.1.0', gateway: 'gw-test', ...extra,
    });
    const reports: UpdateReport[] = [];
    u.on('report', (r: UpdateReport) => reports.push(r));
    return { u, reports };
  }

  it('installs and activates a verified version that passes its validation samples; refuses one that does not', async () => {
    const store = new ModelStore(tempDir());
    const row = [2, 60, 3, 1450, 0.2, 0.5, 0.05, 5];
    const expected = await score(model('pump-anomaly').onnx, row);
    const signed = publish('2', model('pump-anomaly').onnx, [{ input: row, expected: { score: expected } }]);
    const { u, reports } = updater(store);
    const r = await u.offer(signed, { url: `${server.url}/pump-anomaly/manifest.json` });
    assert.equal(r.state, 'active', r.reason);
    assert.deepEqual(reports.filter((x) => x.state !== 'downloading').map((x) => x.state), ['verifying', 'health-check', 'active']);
    assert.equal(store.active('pump-anomaly')!.version, '2');
    // version 3 claims outputs the model does not give: refused at the health check, 2 stays
    const wrong = publish('3', model('pump-anomaly').onnx, [{ input: row, expected: { score: [expected[0] + 1] } }]);
    const r3 = await u.offer(wrong, { url: `${server.url}/pump-anomaly/manifest.json` });
    assert.deepEqual([r3.state, r3.code], ['rejected', 'health-check']);
    assert.match(r3.reason!, /validation sample 1: output "score" is off by 1\.0/);
    assert.equal(store.active('pump-anomaly')!.version, '2');
    assert.equal(store.version('pump-anomaly', '3'), undefined, 'nothing installed');
    // the same version offered again (a poll, a retained message) is not news
    assert.equal((await u.offer(signed, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'up-to-date');
    // a tampered artifact on the server
    const v4 = publish('4');
    const file = path.join(registryDir, 'pump-anomaly', '4', 'model.onnx');
    const bytes = fs.readFileSync(file);
    bytes[100] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const r4 = await u.offer(v4, { url: `${server.url}/pump-anomaly/manifest.json` });
    assert.deepEqual([r4.state, r4.code], ['rejected', 'sha256-mismatch']);
    u.close();
  });

  it('the new version serves from the session its health check loaded; a refused one leaves none behind', async () => {
    const store = new ModelStore(tempDir());
    const pool = new SessionPool(2);
    const row = [2, 60, 3, 1450, 0.2, 0.5, 0.05, 5];
    const expected = await score(model('pump-anomaly').onnx, row);
    const { u } = updater(store, { sessions: pool });
    assert.equal((await u.offer(publish('2', model('pump-anomaly').onnx, [{ input: row, expected: { score: expected } }]), { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'active');
    assert.deepEqual([pool.stats.adopted, pool.size], [1, 1]);
    const active = store.active('pump-anomaly')!;
    const lease = await pool.acquire(active.file, active.manifest.sha256, { threads: 1 });
    assert.deepEqual([pool.stats.created, pool.stats.adopted], [0, 1], 'no second session for the version');
    const out = await lease.loaded.session.run({ features: new ort.Tensor('float32', Float32Array.from(row.map((v, j) => v * active.manifest.preprocessing!.scale[j] + active.manifest.preprocessing!.offset[j])), [1, 8]) });
    assert.ok(Math.abs((out.score.data as Float32Array)[0] - expected[0]) < 1e-5);
    lease.release();
    const wrong = publish('3', model('pump-anomaly').onnx, [{ input: row, expected: { score: [expected[0] + 1] } }]);
    assert.equal((await u.offer(wrong, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'rejected');
    assert.deepEqual([pool.stats.adopted, pool.size], [1, 1], 'the refused version\'s session was released, not parked');
    pool.clearIdle();
    u.close();
  });

  it('a manifest whose version or name is not a safe name gets a rejected report with its code, never a throw', async () => {
    const store = new ModelStore(tempDir());
    const { u, reports } = updater(store, { requireSignature: false });
    const base = { name: 'pump-anomaly', version: '2', sha256: 'a'.repeat(64), size: 10, created: new Date().toISOString(), artifact: 'model.onnx' };
    const offers = [{ version: '../../../etc' }, { version: 5 }, { version: null }, { name: 'a/b' }, { version: 'x'.repeat(100_000) }];
    for (const change of offers) {
      const r = await u.offer({ manifest: { ...base, ...change } }, {});
      assert.deepEqual([r.state, r.code], ['rejected', 'unsafe-name'], JSON.stringify(change).slice(0, 80));
      assert.ok(r.reason!.length < 400, 'the reason quotes the value, not all of it');
    }
    assert.deepEqual(reports.map((r) => r.code), offers.map(() => 'unsafe-name'), 'each refusal was reported');
    assert.deepEqual(reports.map((r) => r.version), [undefined, undefined, undefined, '2', undefined], 'an unsafe version is never reported as a version');
    u.close();
  });

  it('puts a new version on probation: a failed run rolls it back and marks it bad; clean runs confirm it', async () => {
    const store = new ModelStore(tempDir());
    const v1 = model('pump-anomaly');
    store.install({ ...v1.manifest, version: '1' }, v1.onnx);
    store.activate('pump-anomaly', '1');
    const { u, reports } = updater(store);
    const bad = failingModel('2');
    const signed = packageModel({ registry: registryDir, manifest: bad.manifest, onnx: bad.onnx, key });
    assert.equal((await u.offer(signed, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'active', 'a neutral input passes the checks');
    store.reportRun('pump-anomaly', '2', true);
    store.reportRun('pump-anomaly', '2', false, 'indices element out of data bounds');
    await new Promise((r) => setTimeout(r, 50));
    const back = reports[reports.length - 1];
    assert.deepEqual([back.state, back.version, back.previous, back.code], ['rolled-back', '2', '1', 'run-failed']);
    assert.equal(store.active('pump-anomaly')!.version, '1');
    assert.match(store.version('pump-anomaly', '2')!.bad!, /failed in service: indices element out of data bounds/);
    // a reader that cannot load a version on probation marks it bad: rolled back the same way
    const v25 = packageModel({ registry: registryDir, manifest: { ...v1.manifest, version: '2.5' }, onnx: v1.onnx, key });
    assert.equal((await u.offer(v25, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'active');
    store.markBad('pump-anomaly', '2.5', 'warm-up: output "score" is not finite for a neutral input');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual([reports[reports.length - 1].state, reports[reports.length - 1].code], ['rolled-back', 'load-failed']);
    assert.equal(store.pointer('pump-anomaly')!.version, '1');
    // 3 is good: three clean runs confirm it
    const good = packageModel({ registry: registryDir, manifest: { ...v1.manifest, version: '3' }, onnx: v1.onnx, key });
    assert.equal((await u.offer(good, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'active');
    for (let i = 0; i < 3; i++) store.reportRun('pump-anomaly', '3', true);
    assert.equal(reports[reports.length - 1].state, 'confirmed');
    store.reportRun('pump-anomaly', '3', false, 'late failure');
    assert.equal(store.active('pump-anomaly')!.version, '3', 'after probation a failure is edge-infer\'s to handle, not a rollback');
    // the operator: pin 1, an offer of 4 is held; unpin, it goes through
    assert.equal((await u.pin('1')).state, 'pinned');
    const v4 = packageModel({ registry: registryDir, manifest: { ...v1.manifest, version: '4' }, onnx: v1.onnx, key });
    assert.equal((await u.offer(v4, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'held');
    assert.equal(store.active('pump-anomaly')!.version, '1');
    await u.unpin();
    assert.equal((await u.offer(v4, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'active');
    assert.deepEqual(store.versions('pump-anomaly').map((v) => v.version), ['1', '3', '4'], 'keep 2 plus the previous');
    // the operator's rollback goes to the version served before 4 (the pinned 1), and holds it
    const back2 = await u.rollback();
    assert.deepEqual([back2.state, back2.version, back2.previous], ['rolled-back', '1', '4']);
    assert.equal((await u.offer(v4, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'up-to-date', 'not re-activated behind the operator\'s back');
    assert.equal(store.active('pump-anomaly')!.version, '1');
    u.close();
  });

  it('a rollout share is taken by the gateways whose stable position is under it; a raised share keeps them in', async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `gw-${String(i).padStart(3, '0')}`);
    const taking = (share: number) => ids.filter((id) => inRollout({ share }, id, 'pump-anomaly').taken);
    const at30 = taking(0.3);
    assert.ok(at30.length >= 20 && at30.length <= 40, `about 30 of 100 take a share of 0.3 (${at30.length})`);
    assert.equal(at30.length, 27, 'these 100 ids: 27, the same in every release (a gateway never changes place)');
    const at10 = taking(0.1);
    assert.ok(at10.every((id) => at30.includes(id)), 'every gateway in at 0.1 is in at 0.3');
    assert.deepEqual([taking(0).length, taking(1).length, ids.filter((id) => inRollout(undefined, id, 'pump-anomaly').taken).length], [0, 100, 100]);
    assert.notDeepEqual(at30, ids.filter((id) => inRollout({ share: 0.3 }, id, 'other-model').taken), 'another model, other first gateways');
    assert.equal(rolloutPosition('gw-001', 'pump-anomaly'), rolloutPosition('gw-001', 'pump-anomaly'), 'stable');

    // the updater: outside the share it holds the version, naming its position; a raised share takes it
    const store = new ModelStore(tempDir());
    const position = rolloutPosition('gw-test', 'pump-anomaly');
    const { u, reports } = updater(store, { gateway: 'gw-test' });
    const narrow = packageModel({ registry: registryDir, manifest: { ...model('pump-anomaly').manifest, version: '2', rollout: { share: position * 0.9 } }, onnx: model('pump-anomaly').onnx, key });
    const held = await u.offer(narrow, { url: `${server.url}/pump-anomaly/manifest.json` });
    assert.deepEqual([held.state, held.code, held.rollout], ['held', 'rollout', { share: position * 0.9, position }]);
    assert.match(held.reason!, /outside the rollout: this gateway's position 0\.\d{3} is not under the share/);
    assert.equal(store.versions('pump-anomaly').length, 0, 'nothing downloaded');
    const wider = packageModel({ registry: registryDir, manifest: { ...model('pump-anomaly').manifest, version: '2', rollout: { share: Math.min(1, position + 0.01) } }, onnx: model('pump-anomaly').onnx, key });
    assert.equal((await u.offer(wider, { url: `${server.url}/pump-anomaly/manifest.json` })).state, 'active');
    assert.deepEqual(reports.filter((r) => r.state === 'held').length, 1);
    // a share that is not one is a malformed manifest
    const broken = packageModel({ registry: registryDir, manifest: { ...model('pump-anomaly').manifest, version: '3', rollout: { share: 1.5 } }, onnx: model('pump-anomaly').onnx, key });
    const r = await u.offer(broken, { url: `${server.url}/pump-anomaly/manifest.json` });
    assert.deepEqual([r.state, r.code], ['rejected', 'malformed']);
    assert.match(r.reason!, /"rollout.share" must be a number from 0 to 1/);
    u.close();
  });

  it('stages a version in shadow: the gate activates or rejects it; a restart resumes it; a pin or a newer version cancels it', async () => {
    const store = new ModelStore(tempDir());
    const v1 = model('pump-anomaly');
    store.install({ ...v1.manifest, version: '1' }, v1.onnx);
    store.activate('pump-anomaly', '1');
    const staged: Array<string | undefined> = [];
    store.on('shadow', (_name: string, version?: string) => staged.push(version));
    const state = tempDir('edge-updater-');
    const { u } = updater(store, { stateFile: path.join(state, 'state.json') });
    const base = { url: `${server.url}/pump-anomaly/manifest.json` };
    const offer = (version: string, shadow?: object) =>
      packageModel({ registry: registryDir, manifest: { ...v1.manifest, version, ...(shadow ? { shadow } : {}) }, onnx: v1.onnx, key });
    const seen = (samples: number, agreed: number, failed?: string) => ({ samples, agreed, activeFlags: 0, candidateFlags: 0, activeMs: 1, candidateMs: 1, failed });

    const r2 = await u.offer(offer('2', { samples: 20 }), base);
    assert.deepEqual([r2.state, r2.shadow?.gate.samples, r2.shadow?.samples], ['shadow', 20, 0]);
    assert.deepEqual([store.pointer('pump-anomaly')!.version, store.shadowOf('pump-anomaly')?.version, staged], ['1', '2', ['2']]);
    assert.equal((await u.offer(offer('2', { samples: 20 }), base)).state, 'shadow', 'offered again: still in shadow, not activated');
    // a restart: the shadow resumes from the state file, counting from zero
    u.close();
    assert.equal(store.shadowOf('pump-anomaly'), undefined, 'a closed updater stages nothing');
    const again = updater(store, { stateFile: path.join(state, 'state.json') });
    again.u.start();
    assert.equal(store.shadowOf('pump-anomaly')?.version, '2');
    store.reportShadow('pump-anomaly', '2', seen(10, 10));
    store.reportShadow('pump-anomaly', '1', seen(10, 0)); // another version's counts are not the candidate's
    assert.equal(store.pointer('pump-anomaly')!.version, '1');
    store.reportShadow('pump-anomaly', '2', seen(10, 10));
    await waitUntil(() => again.reports.some((r) => r.state === 'active'));
    const active = again.reports.find((r) => r.state === 'active')!;
    assert.deepEqual([active.version, active.previous, active.shadow?.samples, active.shadow?.agreement], ['2', '1', 20, 1]);
    assert.deepEqual(again.reports.filter((r) => r.state === 'shadow').map((r) => r.shadow?.samples), [0, 10], 'resumed, then half way');
    assert.deepEqual([store.pointer('pump-anomaly')!.version, store.shadowOf('pump-anomaly')], ['2', undefined]);

    // 3 disagrees: rejected with the figures and marked bad; 2 never stopped
    await again.u.offer(offer('3', { samples: 10 }), base);
    store.reportShadow('pump-anomaly', '3', seen(10, 6));
    await waitUntil(() => again.reports.some((r) => r.state === 'rejected'));
    const rejected = again.reports.find((r) => r.state === 'rejected')!;
    assert.deepEqual([rejected.version, rejected.code, rejected.shadow?.agreement], ['3', 'shadow-gate', 0.6]);
    assert.match(rejected.reason!, /shadow gate: agreement 60 % is below 95 % over 10 samples/);
    assert.match(store.version('pump-anomaly', '3')!.bad!, /shadow gate/);
    assert.equal(store.pointer('pump-anomaly')!.version, '2');
    assert.equal((await again.u.offer(offer('3', { samples: 10 }), base)).state, 'up-to-date', 'a rejected candidate is not tried again');

    // a newer offer cancels the shadow of 4; a pin cancels 5's
    await again.u.offer(offer('4', { samples: 10 }), base);
    await again.u.offer(offer('5', { samples: 10 }), base);
    assert.deepEqual(again.reports.filter((r) => r.state === 'cancelled').map((r) => [r.version, r.reason]), [['4', 'the shadow was cancelled: 5 was offered']]);
    await again.u.pin('2');
    assert.deepEqual(again.reports.filter((r) => r.state === 'cancelled').map((r) => r.version), ['4', '5']);
    assert.deepEqual([store.pointer('pump-anomaly')!.version, store.shadowOf('pump-anomaly')], ['2', undefined]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(state, 'state.json'), 'utf8')).shadowing, undefined, 'nothing left to resume');
    await again.u.unpin();
    // a failed shadow run rejects at once
    await again.u.offer(offer('6', { samples: 1000 }), base);
    store.reportShadow('pump-anomaly', '6', seen(0, 0, 'it answered NaN or infinity'));
    await waitUntil(() => again.reports.some((r) => r.version === '6' && r.state === 'rejected'));
    assert.match(again.reports.find((r) => r.version === '6' && r.state === 'rejected')!.reason!, /failed 1 run\(s\): it answered NaN/);
    again.u.close();
  });

  it('power loss at any step leaves the old or the new version active and loadable, never a broken store', async function () {
    this.timeout(120_000);
    const storeRoot = tempDir();
    const v1 = model('pump-anomaly');
    const seed = new ModelStore(storeRoot);
    seed.install({ ...v1.manifest, version: '1' }, v1.onnx);
    seed.activate('pump-anomaly', '1');
    const state = tempDir('edge-updater-');
    const script = path.join(state, 'kill.js');
    // a child runs the updater and SIGKILLs itself at the step it is given
    fs.writeFileSync(script, `
      const path = require('path');
      const { ModelStore } = require(${JSON.stringify(require.resolve('../../../nodes/core/models/model-store'))});
      const { ModelUpdater } = require(${JSON.stringify(require.resolve('../../../nodes/core/updates/model-updater'))});
      const { parseTrustedKeys } = require(${JSON.stringify(require.resolve('../../../nodes/core/updates/update-manifest'))});
      const [storeRoot, stateDir, version, kill, trust, url] = process.argv.slice(2);
      const store = new ModelStore(storeRoot);
      if (kill === 'install:written' || kill === 'install:renamed' || kill === 'activate:written') {
        store.crashPoint = (step) => { if (step === kill) process.kill(process.pid, 'SIGKILL'); };
      }
      const u = new ModelUpdater({ store, model: 'pump-anomaly', keys: parseTrustedKeys(trust).keys, requireSignature: true,
        maxBytes: 1e7, idleTimeoutMs: 5000, attempts: 2, probationRuns: 0, keep: 5, stateFile: path.join(stateDir, 's.json'),
        tempDir: path.join(stateDir, 'downloads'), packageVersion: '0.1.0',
        step: (s) => { if (s === kill) process.kill(process.pid, 'SIGKILL'); } });
      fetch(url).then((r) => r.json()).then((m) => u.offer(m, { url })).then((r) => { console.log(r.state); process.exit(0); });
    `);
    const steps = ['downloaded', 'verified', 'install:written', 'install:renamed', 'installed', 'activate:written', 'activated'];
    for (const [i, kill] of steps.entries()) {
      const version = String(i + 2);
      packageModel({ registry: registryDir, manifest: { ...v1.manifest, version }, onnx: v1.onnx, key });
      const child = spawn(process.execPath, [script, storeRoot, state, version, kill, key.trustLine, `${server.url}/pump-anomaly/manifest.json`], { stdio: ['ignore', 'pipe', 'inherit'] });
      const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
      assert.equal(signal, 'SIGKILL', `killed at ${kill} (exit ${code})`);
      // what a restart finds
      const store = new ModelStore(storeRoot);
      store.recover('pump-anomaly');
      const active = store.active('pump-anomaly')!;
      // the pointer is replaced by a rename: before it the old version is active, after it the new one
      const previous = String(i + 1);
      assert.equal(active.version, kill === 'activated' ? version : i === 0 ? '1' : previous, `after a kill at ${kill}`);
      const session = await ort.InferenceSession.create(fs.readFileSync(active.file));
      await session.release();
      assert.equal(require('node:crypto').createHash('sha256').update(fs.readFileSync(active.file)).digest('hex'), active.manifest.sha256, 'the active file is whole');
      assert.deepEqual(fs.readdirSync(path.join(storeRoot, 'pump-anomaly')).filter((f) => f.startsWith('.')), [], 'no half-written version left');
      // a restarted updater clears the partial download and takes the version again
      const again = new ModelUpdater({ store, model: 'pump-anomaly', keys, requireSignature: true, maxBytes: 1e7, idleTimeoutMs: 5000, attempts: 2,
        probationRuns: 0, keep: 20, stateFile: path.join(state, 's.json'), tempDir: path.join(state, 'downloads'), packageVersion: '0.1.0', gateway: 'gw-test' });
      assert.deepEqual(fs.readdirSync(path.join(state, 'downloads')), []);
      const signed = JSON.parse(fs.readFileSync(path.join(registryDir, 'pump-anomaly', 'manifest.json'), 'utf8'));
      const r = await again.offer(signed, { url: `${server.url}/pump-anomaly/manifest.json` });
      assert.ok(r.state === 'active' || r.state === 'up-to-date', `${kill}: ${r.state} ${r.reason ?? ''}`);
      assert.equal(store.active('pump-anomaly')!.version, version);
      again.close();
    }
  });
});

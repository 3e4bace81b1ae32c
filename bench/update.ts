/**
 * edge-model-update figures, each against its baseline in the same run:
 * - update time, from the manifest seen (a "check now" into the node) to edge-infer's first result from the new
 *   version, for a 1 MiB and a 20 MiB model, vs the least any update must do: download the file and create an
 *   onnxruntime session for it, run once;
 * - bytes on the wire for a poll of an unchanged manifest (a conditional request answered 304) vs fetching it.
 */
import * as ort from 'onnxruntime-node';
import { ModelStore, sha256Hex } from '../nodes/core/models/model-store';
import { HttpManifestSource } from '../nodes/core/updates/update-sources';
import { ELEM, GraphBuilder } from '../scripts/lib/onnx-graph';
import { makeKeyPair, packageModel, RegistryServer } from '../scripts/lib/registry';
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node, scratchDir } from './runtime';
import { figure, Figure, median } from './report';

const key = makeKeyPair('bench');

/** A model of about `mib` MiB: features [batch, 8] times a wide matrix, its largest element the score. */
function sizedModel(mib: number, version: number): Uint8Array {
  const width = Math.round((mib * 1_048_576) / 4 / 8);
  const g = new GraphBuilder('sized');
  const x = g.input('features', ELEM.FLOAT, ['batch', 8]);
  // other weights per version: other bytes, so each version is a new session, as a real update is
  const w = g.constant('w', Float32Array.from({ length: 8 * width }, (_, i) => ((i * 7919 + version) % 1000) / 1e6), [8, width]);
  g.op1('ReduceMax', [g.op1('MatMul', [x, w])], { axes: { ints: [1] }, keepdims: { int: 0 } }, 'score');
  g.output('score', ELEM.FLOAT, ['batch']);
  return g.encode();
}

const manifestBase = (onnx: Uint8Array, version: string) => ({
  name: 'sized', version, sha256: sha256Hex(onnx), created: new Date().toISOString(),
  inputs: [{ name: 'features', type: 'float32', shape: ['batch', 8] }], outputs: [{ name: 'score', type: 'float32', shape: ['batch'] }],
});

/** Seconds from "check now" to the first result of the new version. */
async function updateTime(registryDir: string, mib: number, version: string): Promise<number> {
  const onnx = sizedModel(mib, Number(version));
  packageModel({ registry: registryDir, manifest: manifestBase(onnx, version), onnx, key });
  let served = 0;
  const listener = (msg: unknown) => {
    if ((msg as { inference: { version: string } }).inference.version === version && !served) served = performance.now();
  };
  node('out').on('input', listener);
  const infer = node('infer');
  const stream = setInterval(() => infer.receive({ payload: [1, 2, 3, 4, 5, 6, 7, 8] }), 2);
  const t0 = performance.now();
  node('update').receive({ payload: 'check' });
  await waitFor(() => served > 0, `version ${version} serving`, 120_000);
  clearInterval(stream);
  node('out').off('input', listener);
  return (served - t0) / 1000;
}

/** The floor: fetch the same file and make a session of it, run once. */
async function floorTime(url: string): Promise<number> {
  const t0 = performance.now();
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes);
  await session.run({ features: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [1, 8]) });
  const s = (performance.now() - t0) / 1000;
  await session.release();
  return s;
}

export async function benchUpdate(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const registryDir = scratchDir('registry');
  const storeDir = scratchDir('store');
  const registry = new RegistryServer(registryDir);
  await registry.start();
  const store = ModelStore.shared(storeDir);
  try {
    let next = 1;
    for (const mib of [1, 20]) {
      const first = sizedModel(mib, next);
      store.install(manifestBase(first, String(next)), first);
      store.activate('sized', String(next));
      next++;
      await deploy([
        { id: 'model', type: 'edge-model', source: 'store', model: 'sized', storeDir, file: '', pollInterval: '1' },
        { id: 'infer', type: 'edge-infer', model: 'model', mode: 'raw', output: '', topK: '3', transform: 'none', threshold: '', nan: 'reject',
          maxBatch: '1', batchWait: '5', concurrency: '1', queueSize: '100000', overflow: 'drop-oldest', threads: '1', maxValues: '100000', wires: [['out']] },
        { id: 'out', type: 'helper', wires: [] },
        { id: 'update', type: 'edge-model-update', model: 'model', source: 'http', url: `${registry.url}/sized/manifest.json`, interval: '3600',
          broker: '', topic: '', artifactBase: '', directory: '', keysFile: '', requireSignature: true, maxSizeMb: '100', timeout: '30',
          probation: '0', keep: '2', statusTopic: '', wires: [['reports']] },
        { id: 'reports', type: 'helper', wires: [] },
      ], (n) => n('reports').on('input', (m: unknown) => {
        const r = (m as { payload: { state: string; reason?: string } }).payload;
        if (r.state === 'rejected') console.error(`update refused: ${r.reason}`);
      }), { update: { trustedKeys: key.trustLine } });
      const ours: number[] = [];
      const floor: number[] = [];
      for (let r = 0; r < 3; r++) {
        const version = String(next++);
        ours.push(await updateTime(registryDir, mib, version));
        floor.push(await floorTime(`${registry.url}/sized/${version}/model.onnx`));
      }
      figures.push(figure(`update_time_${mib}mib_s`, median(ours), 's', median(floor), 'download the file, create an onnxruntime session, run once'));
    }
    // an unchanged manifest
    const source = new HttpManifestSource(`${registry.url}/sized/manifest.json`, 5000);
    await source.check();
    const full = registry.log[registry.log.length - 1];
    await source.check();
    const unchanged = registry.log[registry.log.length - 1];
    if (unchanged.status !== 304) throw new Error(`expected a 304, got ${unchanged.status}`);
    figures.push(figure('update_unchanged_poll_bytes', unchanged.wireIn + unchanged.wireOut, 'bytes', full.wireIn + full.wireOut,
      'the same poll fetching the manifest (request and response on the wire)', 'computed'));
  } finally {
    await deploy([]);
    await registry.stop();
  }
  return figures;
}

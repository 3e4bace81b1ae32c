/**
 * edge-infer figures, each against its baseline in the same run:
 * - latency p50/p99 of one message through edge-infer (batch 1) vs onnxruntime's own session.run on the same model
 *   and inputs (the physical limit), for the demo classifier and for a wider MLP (a million multiply-adds);
 * - throughput of a burst, batch 1 vs micro-batching;
 * - process RSS after 200 hot swaps (each a new version, so a new session) vs after the first;
 * - the compression report of the demo models (size, latency, agreement vs the original).
 */
import * as ort from 'onnxruntime-node';
import { ModelStore, sha256Hex } from '../nodes/core/models/model-store';
import { buildZoo, BuiltModel } from '../scripts/lib/model-zoo';
import { decodeModel, ELEM, encodeModel, GraphBuilder } from '../scripts/lib/onnx-graph';
import { compressionReport } from '../scripts/models';
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node, scratchDir } from './runtime';
import { figure, Figure, median } from './report';

// the same store object as the nodes' (one per directory), so an activation reaches them at once
const store = ModelStore.shared(scratchDir('models'));

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

/** A wider MLP (8-1024-1024-4, about a million multiply-adds), closer to the cost of a real model than the demo's. */
function largerModel(base: BuiltModel): BuiltModel {
  const g = new GraphBuilder('mlp-1m');
  let a = g.input('features', ELEM.FLOAT, ['batch', 8]);
  const sizes = [8, 1024, 1024, 4];
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  for (let i = 1; i < sizes.length; i++) {
    const w = g.constant(`w${i}`, Array.from({ length: sizes[i - 1] * sizes[i] }, random), [sizes[i - 1], sizes[i]]);
    const b = g.constant(`b${i}`, Array.from({ length: sizes[i] }, random), [sizes[i]]);
    a = g.op1('Add', [g.op1('MatMul', [a, w]), b]);
    if (i < sizes.length - 1) a = g.op1('Relu', [a]);
  }
  g.op1('Softmax', [a], { axis: { int: 1 } }, 'probabilities');
  g.output('probabilities', ELEM.FLOAT, ['batch', 4]);
  const onnx = g.encode();
  return { name: 'mlp-1m', onnx, manifest: { ...base.manifest, name: 'mlp-1m', sha256: sha256Hex(onnx) }, reference: {} };
}

function install(m: BuiltModel, version = '1'): void {
  store.install({ ...m.manifest, version }, m.onnx);
  store.activate(m.manifest.name, version);
}

function flow(model: string, extra: object = {}): object[] {
  return [
    { id: 'mdl', type: 'edge-model', source: 'store', model, storeDir: store.root, pollInterval: '1' },
    { id: 'infer', type: 'edge-infer', model: 'mdl', mode: 'raw', maxBatch: '1', batchWait: '5', concurrency: '1', queueSize: '100000', overflow: 'error', threads: '1', wires: [['out']], ...extra },
    { id: 'out', type: 'helper', wires: [] },
  ];
}

async function loaded(): Promise<void> {
  const infer = node('infer') as unknown as { receive(m: object): void };
  let ok = false;
  (node('out') as unknown as NodeJS.EventEmitter).once('input', () => { ok = true; });
  await waitFor(() => {
    if (!ok) infer.receive({ payload: new Array(8).fill(0) });
    return ok;
  }, 'the model loaded', 30_000);
}

/** Per-message latency of one message at a time through the node, in ms, sorted. */
async function nodeLatencies(rows: number[][], n: number): Promise<number[]> {
  const infer = node('infer');
  const out = node('out');
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((resolve) => (out as unknown as NodeJS.EventEmitter).once('input', () => resolve()));
    const t0 = process.hrtime.bigint();
    infer.receive({ payload: rows[i % rows.length] });
    await done;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

/** The same work with onnxruntime alone: standardize, make the tensor, session.run. */
async function rawLatencies(session: ort.InferenceSession, m: BuiltModel, rows: number[][], n: number): Promise<number[]> {
  const p = m.manifest.preprocessing!;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows[i % rows.length];
    const t0 = process.hrtime.bigint();
    const x = Float32Array.from(row, (v, j) => v * p.scale[j] + p.offset[j]);
    await session.run({ features: new ort.Tensor('float32', x, [1, 8]) });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

async function burst(rows: number[][], n: number): Promise<number> {
  const infer = node('infer');
  let received = 0;
  (node('out') as unknown as NodeJS.EventEmitter).on('input', () => { received++; });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) infer.receive({ payload: rows[i % rows.length] });
  await waitFor(() => received >= n, `${n} results`, 300_000);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function rssMb(): number {
  (global as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss / 1048576;
}

export async function benchInfer(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const zoo = buildZoo();
  const rows = zoo.heldOut.x;
  const classifier = zoo.models.find((m) => m.name === 'pump-classifier')!;
  const larger = largerModel(classifier);
  install(classifier);
  install(larger);
  const N = 3000;

  const rawP50: Record<string, number> = {};
  for (const m of [classifier, larger]) {
    const session = await ort.InferenceSession.create(m.onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
    await deploy(flow(m.manifest.name));
    await loaded();
    const ours: number[][] = [];
    const raw: number[][] = [];
    // interleaved rounds so both see the same machine
    for (let r = 0; r < 3; r++) {
      raw.push(await rawLatencies(session, m, rows, N));
      ours.push(await nodeLatencies(rows, N));
    }
    const p = (runs: number[][], q: number) => median(runs.map((t) => percentile(t, q)));
    const label = m.manifest.name;
    rawP50[label] = p(raw, 0.5);
    figures.push(figure(`infer_p50_ms_${label}`, p(ours, 0.5), 'ms', p(raw, 0.5), 'onnxruntime session.run, same model and inputs'));
    figures.push(figure(`infer_p99_ms_${label}`, p(ours, 0.99), 'ms', p(raw, 0.99), 'onnxruntime session.run, same model and inputs'));
    await session.release();
  }

  // Node-RED's own share: the same harness through a node that only passes the message on
  const hop: number[] = [];
  await deploy([{ id: 'infer', type: 'bench-pass', wires: [['out']] }, { id: 'out', type: 'helper', wires: [] }]);
  for (let r = 0; r < 3; r++) hop.push(percentile(await nodeLatencies(rows, N), 0.5));
  figures.push(figure('infer_p50_ms_node_red_hop', median(hop), 'ms', rawP50['pump-classifier'], 'onnxruntime session.run p50, demo classifier (the hop is part of every figure above)'));

  // throughput of a burst: batch 1 vs micro-batching (same node, same messages)
  const one: number[] = [];
  const batched: number[] = [];
  for (let r = 0; r < 3; r++) {
    await deploy(flow('mlp-1m'));
    await loaded();
    one.push(await burst(rows, 5000));
    await deploy(flow('mlp-1m', { maxBatch: '32', batchWait: '2' }));
    await loaded();
    batched.push(await burst(rows, 5000));
  }
  figures.push(figure('infer_burst_msgs_per_s_batch32_mlp-1m', median(batched), 'msgs/s', median(one), 'the same node with batch 1'));

  // RSS across hot swaps: every version different bytes, so each swap creates a session and another is released
  await deploy(flow(classifier.manifest.name));
  await loaded();
  let lastVersion = '1';
  const swapTo = async (version: number) => {
    // another doc string: other bytes, so another file and another session, with the same math
    const decoded = decodeModel(classifier.onnx);
    decoded.docString = `variant ${version}`;
    const onnx = encodeModel(decoded);
    install({ ...classifier, onnx, manifest: { ...classifier.manifest, sha256: sha256Hex(onnx) } }, String(version));
    await waitFor(() => lastVersion === String(version), `version ${version} serving`, 30_000);
  };
  (node('out') as unknown as NodeJS.EventEmitter).on('input', (msg: { inference: { version: string } }) => { lastVersion = msg.inference.version; });
  const probe = setInterval(() => node('infer').receive({ payload: rows[0] }), 1);
  try {
    await swapTo(2);
    const afterOne = rssMb();
    for (let v = 3; v <= 201; v++) await swapTo(v);
    const after200 = rssMb();
    figures.push(figure('infer_rss_mb_after_200_hot_swaps', after200, 'MB', afterOne, 'RSS after the first hot swap', 'measured'));
  } finally {
    clearInterval(probe);
  }

  // compression: each demo model, int8 and pruned variants vs the original
  for (const name of ['pump-classifier', 'pump-anomaly']) {
    const m = zoo.models.find((x) => x.name === name)!;
    const report = await compressionReport(m.onnx, m.manifest, zoo.heldOut);
    const original = report[0];
    for (const v of report.slice(1)) {
      const tag = `${name}_${v.label.replace(/[^a-z0-9]+/gi, '-')}`;
      figures.push(figure(`compress_bytes_${tag}`, v.bytes, 'bytes', original.bytes, 'original model', 'computed'));
      figures.push(figure(`compress_gzip_bytes_${tag}`, v.gzipBytes, 'bytes', original.gzipBytes, 'original model, gzipped', 'computed'));
      figures.push(figure(`compress_p50_ms_${tag}`, v.p50Ms, 'ms', original.p50Ms, 'original model, same inputs, interleaved'));
      figures.push(figure(`compress_agreement_${tag}`, v.agreement, 'share', 1, 'the original model\'s decisions', 'computed'));
      const quality = v.accuracy ?? v.detectionRate!;
      figures.push(figure(`compress_${v.accuracy !== undefined ? 'accuracy' : 'detection'}_${tag}`, quality, 'share',
        original.accuracy ?? original.detectionRate!, 'original model on the same held-out set', 'computed'));
    }
  }
  return figures;
}

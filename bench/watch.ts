/**
 * What watching a model costs, each against its baseline in the same run, on the demo anomaly model:
 * - the drift monitor's own time per sample (binning 8 features, PSI at each window's end) against onnxruntime's
 *   session.run for the same sample: the share of inference time drift adds (goal: under 10 %);
 * - p50 of one message through edge-infer with drift watched (720-sample windows), then with deviations explained
 *   too, against the same node with both off (interleaved rounds);
 * - the same node while a candidate runs in shadow beside it, against no shadow: what a shadow costs live traffic.
 */
import * as ort from 'onnxruntime-node';
import { ModelStore } from '../nodes/core/models/model-store';
import { DEFAULT_DRIFT, DriftMonitor } from '../nodes/core/monitoring/drift-monitor';
import { buildZoo } from '../scripts/lib/model-zoo';
import { waitFor } from '../scripts/lib/net-util';
import { deploy, node, scratchDir } from './runtime';
import { figure, Figure, median } from './report';

const store = ModelStore.shared(scratchDir('watch-models'));

function flow(extra: object): object[] {
  return [
    { id: 'mdl', type: 'edge-model', source: 'store', model: 'pump-anomaly', storeDir: store.root, pollInterval: '1' },
    { id: 'infer', type: 'edge-infer', model: 'mdl', mode: 'anomaly', maxBatch: '1', batchWait: '5', concurrency: '1', queueSize: '100000', overflow: 'error',
      threads: '1', drift: 'off', explain: 'off', wires: [['out'], []], ...extra },
    { id: 'out', type: 'helper', wires: [] },
  ];
}

/** p50 of one message at a time through the node, in ms. */
async function p50(rows: number[][], n: number): Promise<number> {
  const infer = node('infer') as unknown as { receive(m: object): void };
  const out = node('out') as unknown as NodeJS.EventEmitter;
  // loaded: the first result has come
  let first = false;
  out.once('input', () => { first = true; });
  await waitFor(() => (first || infer.receive({ payload: rows[0] }), first), 'the model loaded', 30_000);
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const done = new Promise<void>((resolve) => out.once('input', () => resolve()));
    const t0 = process.hrtime.bigint();
    infer.receive({ payload: rows[i % rows.length] });
    await done;
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

export async function benchWatch(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const zoo = buildZoo();
  const rows = zoo.heldOut.x;
  const m = zoo.models.find((x) => x.name === 'pump-anomaly')!;
  store.install({ ...m.manifest, version: '1' }, m.onnx);
  store.activate('pump-anomaly', '1');
  const p = m.manifest.preprocessing!;
  const inputs = rows.map((row) => Float32Array.from(row, (v, j) => v * p.scale[j] + p.offset[j]));

  // the monitor alone vs the model alone, per sample
  const session = await ort.InferenceSession.create(m.onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const N = 20_000;
  const driftUs: number[] = [];
  const runUs: number[] = [];
  for (let round = 0; round < 3; round++) {
    const monitor = new DriftMonitor(m.manifest.features!, m.manifest.training!, { samples: DEFAULT_DRIFT.samples, windowMs: 0, watch: 0.1, drift: 0.25 }, p);
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) monitor.add(inputs[i % inputs.length], 1, i);
    driftUs.push(Number(process.hrtime.bigint() - t0) / 1e3 / N);
    const n = N / 10;
    t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await session.run({ features: new ort.Tensor('float32', inputs[i % inputs.length], [1, 8]) });
    runUs.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  await session.release();
  figures.push(figure('watch_drift_us_per_sample_pump-anomaly', median(driftUs), 'us', median(runUs), 'onnxruntime session.run per sample, same model and inputs'));

  // through the node: watched vs not, and with a candidate in shadow vs not (interleaved rounds)
  const plain: number[] = [];
  const drifting: number[] = [];
  const watched: number[] = [];
  const shadowed: number[] = [];
  const M = 2000;
  store.install({ ...m.manifest, version: '2' }, m.onnx);
  for (let round = 0; round < 5; round++) {
    await deploy(flow({}));
    plain.push(await p50(rows, M));
    await deploy(flow({ drift: 'samples', driftWindow: String(DEFAULT_DRIFT.samples) }));
    drifting.push(await p50(rows, M));
    await deploy(flow({ drift: 'samples', driftWindow: String(DEFAULT_DRIFT.samples), explain: 'deviation' }));
    watched.push(await p50(rows, M));
    await deploy(flow({}));
    store.setShadow('pump-anomaly', '2');
    shadowed.push(await p50(rows, M));
    store.setShadow('pump-anomaly', undefined);
  }
  figures.push(figure('watch_infer_p50_ms_drift_pump-anomaly', median(drifting), 'ms', median(plain), 'the same node, drift off'));
  figures.push(figure('watch_infer_p50_ms_drift_and_explain_pump-anomaly', median(watched), 'ms', median(plain), 'the same node, drift and explanations off'));
  figures.push(figure('watch_infer_p50_ms_with_shadow_pump-anomaly', median(shadowed), 'ms', median(plain), 'the same node, no candidate in shadow'));
  return figures;
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EngineOptions, InferenceEngine } from '../../../nodes/core/inference/inference-engine';
import { ModelSource } from '../../../nodes/core/models/model-manifest';
import { SessionPool } from '../../../nodes/core/inference/session-pool';
import { AnomalyResult, ClassResult } from '../../../nodes/core/inference/postprocess';
import { BuiltModel, referenceOutput } from '../../../scripts/lib/model-zoo';
import { compare, prune, quantizeDynamic } from '../../../scripts/lib/compress';
import { GraphBuilder, ELEM } from '../../../scripts/lib/onnx-graph';
import { argmax } from '../../../scripts/lib/train';
import { model, tempDir, testZoo } from '../../support/models';

function options(o: Partial<EngineOptions> = {}, post: Partial<EngineOptions['post']> = {}): EngineOptions {
  return {
    threads: 1, nan: 'reject', maxValues: 100_000, maxBatch: 1, maxWaitMs: 5, concurrency: 1, queueLimit: 1000, overflow: 'error',
    ...o, post: { mode: 'raw', k: 3, transform: 'none', ...post },
  };
}

const dir = tempDir('edge-engine-');
function source(m: BuiltModel, version = m.manifest.version, bytes: Uint8Array = m.onnx): ModelSource {
  const file = path.join(dir, `${m.name}-${version}.onnx`);
  fs.writeFileSync(file, bytes);
  return { name: m.name, version, file, sha256: m.manifest.sha256, manifest: { ...m.manifest, version } };
}

const rows = () => testZoo().heldOut.x;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));

describe('core: inference engine (onnxruntime)', () => {
  const pool = new SessionPool(2);

  it('anomaly model: the same scores as the JavaScript reference, and the manifest threshold', async () => {
    const m = model('pump-anomaly');
    const engine = new InferenceEngine(pool, options({}, { mode: 'anomaly' }));
    await engine.use(source(m));
    let anomalies = 0;
    for (const row of rows().slice(0, 200)) {
      const r = await engine.infer(row);
      const p = r.payload as AnomalyResult;
      const expected = referenceOutput(m, row)[0];
      assert.ok(close(p.score, expected), `${p.score} vs ${expected}`);
      assert.equal(p.anomaly, expected > m.manifest.threshold!);
      assert.equal(p.label, p.anomaly ? 'anomaly' : 'normal');
      assert.deepEqual([r.inference.model, r.inference.version, r.inference.batch], ['pump-anomaly', '1', 1]);
      anomalies += p.anomaly ? 1 : 0;
    }
    assert.ok(anomalies > 20 && anomalies < 180, `held-out data has both kinds (${anomalies} anomalous of 200)`);
    await engine.close();
  });

  it('classifiers (MLP and ai.onnx.ml LinearClassifier): labels and probabilities as the reference; int64 labels as numbers', async () => {
    for (const name of ['pump-classifier', 'pump-linear'] as const) {
      const m = model(name);
      const classify = new InferenceEngine(pool, options({}, { mode: 'classify' }));
      const raw = new InferenceEngine(pool, options());
      await classify.use(source(m));
      await raw.use(source(m));
      const { x, y } = testZoo().heldOut;
      let right = 0;
      for (let i = 0; i < 200; i++) {
        const expected = referenceOutput(m, x[i]);
        const c = (await classify.infer(x[i])).payload as ClassResult;
        assert.equal(c.index, argmax(expected));
        assert.equal(c.label, m.manifest.labels![c.index]);
        assert.ok(close(c.score, expected[c.index]));
        right += c.index === y[i] ? 1 : 0;
        const r = (await raw.infer(x[i])).payload;
        if (name === 'pump-linear') {
          const both = r as { label: number; probabilities: number[] };
          assert.equal(both.label, c.index, 'the int64 label arrives as a plain number');
          assert.equal(typeof both.label, 'number');
        }
      }
      assert.ok(right / 200 > 0.85, `${name} accuracy ${right / 200}`);
      await classify.close();
      await raw.close();
    }
  });

  it('micro-batches messages into one run and routes each result back to its message, in order', async () => {
    const m = model('pump-classifier');
    const engine = new InferenceEngine(pool, options({ maxBatch: 16, maxWaitMs: 20 }, { mode: 'classify' }));
    await engine.use(source(m));
    const sample = rows().slice(0, 40);
    const mixed: unknown[] = sample.map((r, i) => (i % 10 === 3 ? [r, r] : r)); // some messages carry a batch themselves
    const results = await Promise.all(mixed.map((p) => engine.infer(p)));
    results.forEach((r, i) => {
      const expected = argmax(referenceOutput(m, sample[i]));
      if (i % 10 === 3) assert.deepEqual((r.payload as ClassResult[]).map((c) => c.index), [expected, expected]);
      else assert.equal((r.payload as ClassResult).index, expected);
    });
    assert.ok(results.some((r) => r.inference.batch > 1), 'runs were shared');
    assert.ok(engine.counters.batches < 40, `${engine.counters.batches} runs for 40 messages`);
    await engine.close();
  });

  it('hot swap under a continuous stream: no message lost, every answer from a whole version', async () => {
    const m = model('pump-classifier');
    const engine = new InferenceEngine(pool, options({ maxBatch: 4, concurrency: 2 }, { mode: 'raw' }));
    await engine.use(source(m, '1'));
    const sample = rows()[5];
    const expected = referenceOutput(m, sample);
    // version 2 is the same network with another version number; version 3 a different model (the linear one)
    const linear = model('pump-linear');
    const pending: Array<Promise<{ version: string; ok: boolean }>> = [];
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        pending.push(engine.infer(sample).then((r) => {
          const probs = (r.payload as { probabilities?: number[] }).probabilities ?? (r.payload as number[]);
          const want = r.inference.version === '3' ? referenceOutput(linear, sample) : expected;
          return { version: r.inference.version, ok: probs.every((p, i) => close(p, want[i])) };
        }));
        await new Promise((r) => setImmediate(r));
      }
    })();
    await engine.use(source(m, '2'));
    await engine.use({ ...source(linear, '3') });
    await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await pump;
    const answers = await Promise.all(pending);
    const versions = answers.map((a) => a.version);
    assert.ok(answers.length > 100, `${answers.length} messages`);
    assert.ok(answers.every((a) => a.ok), 'every answer matches its version');
    assert.deepEqual([...new Set(versions)], ['1', '2', '3'], 'versions in order, never back');
    assert.equal(engine.counters.completed, answers.length);
    await engine.close();
  });

  it('a corrupt, truncated or mismatched new version is refused; the old one keeps serving', async () => {
    const m = model('pump-anomaly');
    const engine = new InferenceEngine(pool, options({}, { mode: 'anomaly' }));
    await engine.use(source(m, '1'));
    const garbage = Buffer.from('this is not an onnx model');
    const truncated = m.onnx.slice(0, Math.floor(m.onnx.length / 2));
    await assert.rejects(engine.use({ ...source(m, '2', truncated) }), /model file .* is corrupt: its sha256 is/);
    await assert.rejects(engine.use({ ...source(m, '3', garbage), sha256: undefined }), /onnxruntime cannot load/);
    await assert.rejects(engine.use({ ...source(m, '4'), file: path.join(dir, 'missing.onnx') }), /model file .*missing.onnx does not exist/);
    // a manifest that does not fit the model: 3 features for an 8-wide input
    await assert.rejects(engine.use({ ...source(m, '5'), manifest: { ...m.manifest, features: ['a', 'b', 'c'], preprocessing: undefined } }),
      /the manifest lists 3 features, the model's input "features" takes 8/);
    // a model that answers NaN to a neutral input fails its warm-up
    const g = new GraphBuilder('nan');
    const x = g.input('features', ELEM.FLOAT, ['batch', 8]);
    const ln = g.op1('Log', [g.op1('Mul', [x, g.constant('zero', [0], [1])])]);
    g.op1('ReduceSum', [ln], { keepdims: { int: 0 } }, 'score');
    g.output('score', ELEM.FLOAT, []);
    await assert.rejects(engine.use({ ...source(m, '6', g.encode()), sha256: undefined }), /warm-up: output "score" is not finite/);
    assert.equal(engine.current!.version, '1');
    const r = await engine.infer(rows()[0]);
    assert.equal(r.inference.version, '1');
    await engine.close();
  });

  it('bad input is refused with the reason and the engine keeps serving', async () => {
    const engine = new InferenceEngine(pool, options({}, { mode: 'anomaly' }));
    await assert.rejects(engine.infer([1]), /no model is loaded/);
    await engine.use(source(model('pump-anomaly')));
    await assert.rejects(engine.infer([1, 2, 3]), /input "features" expects shape \[batch, 8\], received \[3\]/);
    await assert.rejects(engine.infer({ 'vibration.mean': 1 }), /missing feature\(s\): vibration.stddev, temperature.mean/);
    await assert.rejects(engine.infer([1, 2, 3, 4, 5, 6, 7, NaN]), /element 7 is NaN/);
    const named = Object.fromEntries(model('pump-anomaly').manifest.features!.map((f, i) => [f, rows()[0][i]]));
    const byName = await engine.infer(named);
    const byArray = await engine.infer(rows()[0]);
    assert.deepEqual(byName.payload, byArray.payload);
    await engine.close();
  });

  it('several engines on one model share one session; idle sessions are bounded', async () => {
    const local = new SessionPool(1);
    const engines = [1, 2, 3].map(() => new InferenceEngine(local, options()));
    for (const e of engines) await e.use(source(model('pump-classifier')));
    assert.deepEqual([local.stats.created, local.stats.shared, local.size], [1, 2, 1]);
    for (const e of engines) await e.close();
    assert.equal(local.size, 1, 'parked for a quick return');
    const other = new InferenceEngine(local, options());
    await other.use(source(model('pump-anomaly')));
    await other.close();
    assert.equal(local.size, 1, 'the older parked session was released');
    assert.equal(local.stats.released, 1);
    local.clearIdle();
    assert.equal(local.stats.released, 2);
  });

  it('model tools: quantized and pruned models run and agree with the original on held-out data', async () => {
    const m = model('pump-classifier');
    const q = quantizeDynamic(m.onnx);
    const p = prune(m.onnx, 0.3);
    assert.equal(q.quantized, 3);
    assert.ok(Math.abs(p.zeroed / p.weights - 0.3) < 0.02, `${p.zeroed} of ${p.weights}`);
    const { x, y } = testZoo().heldOut;
    const report = await compare([{ label: 'original', onnx: m.onnx }, { label: 'int8', onnx: q.model }, { label: 'pruned', onnx: p.model }], m.manifest, x.slice(0, 300), y.slice(0, 300), 1);
    assert.deepEqual(report.map((r) => r.label), ['original', 'int8', 'pruned']);
    assert.equal(report[0].agreement, 1);
    assert.ok(report[1].agreement > 0.95, `int8 agreement ${report[1].agreement}`);
    assert.ok(report[1].bytes < report[0].bytes, 'int8 weights are smaller');
    assert.ok(report[2].gzipBytes < report[0].gzipBytes, 'zeros compress');
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { deviations, explainText, occlusionBaseline, occlusionContributions, occlusionRows } from '../../../nodes/core/monitoring/explain';
import { EngineOptions, InferenceEngine } from '../../../nodes/core/inference/inference-engine';
import { SessionPool } from '../../../nodes/core/inference/session-pool';
import { DEFAULT_DRIFT } from '../../../nodes/core/monitoring/drift-monitor';
import { pumpOperation } from '../../../scripts/lib/pump-data';
import { model, tempDir } from '../../support/models';

const stats = {
  samples: 10,
  features: {
    a: { mean: 10, sd: 2, edges: [10], shares: [0.5, 0.5] },
    b: { mean: 0, sd: 0.5, edges: [0], shares: [0.5, 0.5] },
    c: { mean: 5, sd: 1, edges: [5], shares: [0.5, 0.5] },
    d: { mean: 1, sd: 0, edges: [], shares: [1] },
  },
};

describe('core: why a sample was flagged', () => {
  it('deviations by hand: standardized input taken back to raw units, the largest three first, sd 0 left out', () => {
    // raw (16, -1, 5.5, 3), fed as z = raw * 0.5 + 1
    const pre = { scale: [0.5, 0.5, 0.5, 0.5], offset: [1, 1, 1, 1] };
    const row = [16, -1, 5.5, 3].map((v) => v * 0.5 + 1);
    const got = deviations(row, ['a', 'b', 'c', 'd'], stats, pre);
    assert.deepEqual(got, [{ feature: 'a', value: 3, unit: 'sd' }, { feature: 'b', value: -2, unit: 'sd' }, { feature: 'c', value: 0.5, unit: 'sd' }]);
    assert.equal(explainText(got), 'a +3.0 sd, b −2.0 sd, c +0.5 sd');
    // without statistics a standardized input is its own deviation
    assert.deepEqual(deviations([0.1, -4, 2], ['a', 'b', 'c'], undefined, { scale: [1, 1, 1], offset: [0, 0, 0] }, 1), [{ feature: 'b', value: -4, unit: 'sd' }]);
  });

  it('occlusion by hand: for a linear score w·x, each feature\'s share is w_j (x_j - mean_j)', () => {
    const w = [2, -1, 0.5];
    const x = [13, 4, 9];
    const features = ['a', 'b', 'c'];
    const baseline = occlusionBaseline(features, stats, undefined)!;
    assert.deepEqual(baseline, [10, 0, 5]);
    const rows = new Float64Array(9);
    occlusionRows(x, baseline, rows, 0);
    const score = w.reduce((s, wj, j) => s + wj * x[j], 0);
    const occluded = [0, 1, 2].map((r) => w.reduce((s, wj, j) => s + wj * rows[r * 3 + j], 0));
    assert.deepEqual(occlusionContributions(score, occluded, features), [
      { feature: 'a', value: 6, unit: 'score' }, { feature: 'b', value: -4, unit: 'score' }, { feature: 'c', value: 2, unit: 'score' },
    ]);
    assert.equal(explainText(occlusionContributions(score, occluded, features)), 'a +6.00 score, b −4.00 score, c +2.00 score');
  });

  describe('the demo anomaly model on a bearing episode (onnxruntime)', () => {
    const pool = new SessionPool(2);
    const m = model('pump-anomaly');
    const file = path.join(tempDir('edge-explain-'), 'a.onnx');
    fs.writeFileSync(file, m.onnx);
    const source = { name: m.name, version: '1', file, sha256: m.manifest.sha256, manifest: m.manifest };
    const options = (explain: 'deviation' | 'occlusion'): EngineOptions => ({
      threads: 1, nan: 'reject', maxValues: 1000, maxBatch: 1, maxWaitMs: 5, concurrency: 1, queueLimit: 100, overflow: 'error',
      post: { mode: 'anomaly', k: 3, transform: 'none' }, watch: { explain, drift: { ...DEFAULT_DRIFT, samples: 50 } },
    });
    // vector 24 covers 120-129.5 s of the pump's first hour: the first bearing episode (120-165 s) before its heat (from 130 s)
    const rows = pumpOperation(5, 0.1);
    const bearing = rows[24];
    const normal = rows[5];

    for (const method of ['deviation', 'occlusion'] as const) {
      it(`${method}: vibration.mean first for the flagged bearing window, nothing for a normal one`, async () => {
        const engine = new InferenceEngine(pool, options(method));
        await engine.use(source);
        const flagged = await engine.infer(bearing);
        assert.equal((flagged.payload as { anomaly: boolean }).anomaly, true);
        const explain = flagged.inference.explain!;
        assert.equal(explain.length, 3);
        assert.equal(explain[0].feature, 'vibration.mean');
        assert.ok(explain[0].value > 0);
        assert.equal(explain[0].unit, method === 'deviation' ? 'sd' : 'score');
        const calm = await engine.infer(normal);
        assert.equal((calm.payload as { anomaly: boolean }).anomaly, false);
        assert.equal(calm.inference.explain, undefined);
        assert.deepEqual(calm.inference.drift, { level: 'pending', samples: 2, windows: 0 });
        await engine.close();
      });
    }

    it('a drift level change is an event of the engine, and each result carries the summary', async () => {
      const engine = new InferenceEngine(pool, options('deviation'));
      await engine.use(source);
      const events: Array<{ level: string; feature: string }> = [];
      engine.on('drift', (_s, r) => events.push(r));
      // 50 samples of one bearing window: every feature far off its training bins
      for (let i = 0; i < 50; i++) await engine.infer(bearing);
      assert.equal(events.length, 1);
      assert.equal(events[0].level, 'drift');
      const r = await engine.infer(normal);
      assert.equal(r.inference.drift!.level, 'drift');
      assert.equal(r.inference.drift!.windows, 1);
      await engine.close();
    });
  });
});

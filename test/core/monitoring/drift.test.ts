import assert from 'node:assert/strict';
import { binOf, featureStats, trainingRows, trainingStats, trainingStatsProblems } from '../../../nodes/core/monitoring/training-stats';
import { DEFAULT_DRIFT, DriftMonitor, DriftReport, psi } from '../../../nodes/core/monitoring/drift-monitor';
import { Operation, PUMP_FEATURES, pumpOperation } from '../../../scripts/lib/pump-data';
import { model } from '../../support/models';

const near = (a: number, b: number, eps = 1e-4) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

describe('core: training statistics and input drift', () => {
  it('cuts ten quantile bins with distinct edges, a value on an edge in the lower bin', () => {
    const s = featureStats(Array.from({ length: 100 }, (_, i) => i + 1));
    assert.deepEqual(s.edges, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    s.shares.forEach((v) => near(v, 0.1, 1e-12));
    near(s.mean, 50.5);
    near(s.sd, Math.sqrt((100 * 100 - 1) / 12));
    assert.deepEqual([binOf(s.edges, 10), binOf(s.edges, 10.5), binOf(s.edges, -5), binOf(s.edges, 1e9)], [0, 1, 0, 9]);
    // half the values are one value: one edge for it, no empty bins
    const heavy = featureStats([...new Array(50).fill(0), ...Array.from({ length: 50 }, (_, i) => i + 1)]);
    assert.deepEqual(heavy.edges, [0, 10, 20, 30, 40]);
    assert.deepEqual(heavy.shares, [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]);
  });

  it('reads a training set as rows, named rows or {x}, and names what is wrong', () => {
    const f = ['a', 'b'];
    assert.deepEqual(trainingRows([[1, 2]], f), [[1, 2]]);
    assert.deepEqual(trainingRows([{ b: 2, a: 1 }], f), [[1, 2]]);
    assert.deepEqual(trainingRows({ x: [[3, 4]] }, f), [[3, 4]]);
    assert.throws(() => trainingRows([[1]], f), /row 1 has 1 values, the model takes 2/);
    assert.throws(() => trainingRows([{ a: 1 }], f), /no feature "b"/);
    assert.throws(() => trainingRows('x', f), /non-empty array/);
    assert.throws(() => trainingStats([[1, NaN]], f), /feature "b": NaN is not a number/);
    assert.deepEqual(trainingStatsProblems(trainingStats([[1, 2], [3, 4]], f), f), []);
    assert.match(trainingStatsProblems({ samples: 2, features: { a: { mean: 1, sd: 1, edges: [2, 1], shares: [0.5, 0.5, 0] } } }, f).join('; '), /training.features.a.*ascending.*no statistics for "b"/);
  });

  it('PSI by hand: 30/70 against 50/50 is 0.1659 (smoothed by half a count per bin); identical shares score 0', () => {
    // live shares (30.5/101, 70.5/101): (0.30198 - 0.5) ln(0.30198 / 0.5) + (0.69802 - 0.5) ln(0.69802 / 0.5)
    near(psi([30, 70], [0.5, 0.5], 100), 0.1659);
    near(psi([50, 50], [0.5, 0.5], 100), 0, 1e-12);
    // an empty training bin stays finite
    assert.ok(Number.isFinite(psi([0, 100], [1, 0], 100)));
  });

  it('a count window reports once per window: level, worst feature, shift in sd, and the summary between windows', () => {
    const stats = trainingStats(Array.from({ length: 1000 }, (_, i) => [i % 100, (i * 7) % 100]), ['a', 'b']);
    const m = new DriftMonitor(['a', 'b'], stats, { ...DEFAULT_DRIFT, samples: 100 });
    assert.equal(m.summary.level, 'pending');
    let report: DriftReport | undefined;
    for (let i = 0; i < 100; i++) report = m.add([i, (i * 7) % 100], 1, i) ?? report;
    assert.equal(report!.level, 'ok');
    assert.equal(report!.samples, 100);
    // b moves up by half its range: all its values land in the upper half of the bins
    for (let i = 0; i < 99; i++) assert.equal(m.add([i, 50 + (i % 50)], 1, 100 + i), undefined);
    assert.deepEqual(m.summary, { level: 'ok', score: report!.score, feature: report!.feature, shift: report!.shift, samples: 100, windows: 1 });
    const second = m.add([99, 99], 1, 199)!;
    assert.equal(second.level, 'drift');
    assert.equal(second.feature, 'b');
    assert.equal(second.windows, 2);
    assert.ok(second.features.b.psi > 1 && second.features.a.psi < 0.05, JSON.stringify(second.features));
    near(second.shift, (74.5 + 0.25 - 49.5) / stats.features.b.sd, 0.01);
    // a model input that was standardized is taken back to the raw unit first
    const scaled = new DriftMonitor(['a', 'b'], stats, { ...DEFAULT_DRIFT, samples: 100 }, { scale: [2, 2], offset: [-1, -1] });
    let r: DriftReport | undefined;
    for (let i = 0; i < 100; i++) r = scaled.add([i * 2 - 1, ((i * 7) % 100) * 2 - 1], 1, i) ?? r;
    assert.equal(r!.level, 'ok');
    assert.ok(r!.score < 0.05);
  });

  it('a time window ends at the first sample after it (a quiet input completes no empty window)', () => {
    const stats = trainingStats(Array.from({ length: 100 }, (_, i) => [i]), ['a']);
    const m = new DriftMonitor(['a'], stats, { ...DEFAULT_DRIFT, samples: 0, windowMs: 1000 });
    for (let i = 0; i < 50; i++) assert.equal(m.add([i * 2], 1, i * 10), undefined);
    const r = m.add([0], 1, 60_000)!;
    assert.equal(r.samples, 50);
    assert.equal(m.add([1], 1, 60_001), undefined);
  });

  describe('the demo pump, against the anomaly model\'s training statistics (one window: 720 vectors, an hour)', () => {
    const stats = () => model('pump-anomaly').manifest.training!;
    function windows(hours: number, o: Operation = {}): DriftReport[] {
      const m = new DriftMonitor(PUMP_FEATURES, stats(), DEFAULT_DRIFT);
      const out: DriftReport[] = [];
      for (const row of pumpOperation(11, hours, o)) {
        const r = m.add(row, 1, 0);
        if (r) out.push(r);
      }
      return out;
    }
    const first = (list: DriftReport[], level: string) => list.findIndex((r) => r.level === level) + 1;

    it('24 hours of normal operation, bearing episodes every 5 minutes included: no window at watch or drift', () => {
      const list = windows(24);
      assert.equal(list.length, 23);
      assert.deepEqual(list.filter((r) => r.level !== 'ok').map((r) => `${r.windows}:${r.feature}:${r.score}`), []);
      assert.ok(Math.max(...list.map((r) => r.score)) < 0.1);
    });

    it('a temperature sensor drifting by 0.5 °C an hour: drift in the first window, on temperature.mean', () => {
      const list = windows(6, { alter: (s, t) => { s.temperature += (0.5 * t) / 3_600_000; } });
      assert.equal(first(list, 'drift'), 1);
      assert.equal(list[0].feature, 'temperature.mean');
      assert.ok(list[0].shift > 0);
    });

    it('a vibration sensor drifting by 0.1 mm/s an hour: drift within 3 windows, on vibration.mean', () => {
      const list = windows(6, { alter: (s, t) => { s.vibration += (0.1 * t) / 3_600_000; } });
      const at = first(list, 'drift');
      assert.ok(at >= 1 && at <= 3, `first drift in window ${at}`);
      assert.equal(list[at - 1].feature, 'vibration.mean');
    });

    it('a pressure sensor recalibrated 0.1 bar high after 3 hours: drift in the first window after, on pressure.mean', () => {
      const list = windows(6, { alter: (s, t) => { if (t >= 3 * 3_600_000) s.pressure += 0.1; } });
      assert.deepEqual(list.slice(0, 2).map((r) => r.level), ['ok', 'ok']);
      // window 3 ends 5 s before the recalibration's hour (the first vector comes after 10 s): it is still clean
      const after = list.slice(3);
      assert.ok(after.every((r) => r.level === 'drift' && r.feature === 'pressure.mean'), after.map((r) => `${r.level}:${r.feature}`).join(' '));
    });
  });
});

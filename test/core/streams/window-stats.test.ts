import assert from 'node:assert/strict';
import { WindowStats, STATISTICS, StatisticKey, validateStatistics } from '../../../nodes/core/streams/window-stats';
import { OrderStatistics } from '../../../nodes/core/streams/order-statistics';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

/** The textbook definitions, computed from the samples every time. */
function naive(xs: number[], ts: number[], name: StatisticKey): number | null {
  const n = xs.length;
  if (name === 'count') return n;
  if (name === 'sum') return xs.reduce((s, x) => s + x, 0);
  if (n === 0) return null;
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
  const sorted = [...xs].sort((a, b) => a - b);
  const quantile = (q: number) => {
    const h = (n - 1) * q;
    const lo = Math.floor(h);
    return lo + 1 < n ? sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
  };
  switch (name) {
    case 'mean': return mean;
    case 'min': return sorted[0];
    case 'max': return sorted[n - 1];
    case 'first': return xs[0];
    case 'last': return xs[n - 1];
    case 'range': return sorted[n - 1] - sorted[0];
    case 'variance': return variance;
    case 'stddev': return Math.sqrt(variance);
    case 'rms': return Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / n);
    case 'median': return quantile(0.5);
    case 'slope': {
      const tt = ts.map((t) => t / 1000);
      const mt = tt.reduce((s, t) => s + t, 0) / n;
      const vt = tt.reduce((s, t) => s + (t - mt) ** 2, 0);
      if (n < 2 || vt === 0) return null;
      return tt.reduce((s, t, i) => s + (t - mt) * (xs[i] - mean), 0) / vt;
    }
    case 'rate': {
      const dt = (ts[n - 1] - ts[0]) / 1000;
      return n < 2 || dt === 0 ? null : (xs[n - 1] - xs[0]) / dt;
    }
    default: return quantile(Number(name.slice(1)) / 100);
  }
}

const ALL: StatisticKey[] = [...STATISTICS, 'p90', 'p95', 'p99', 'p0', 'p100'];

function close(actual: number | null, expected: number | null, scale: number, what: string): void {
  if (expected === null) return assert.equal(actual, null, what);
  assert.notEqual(actual, null, what);
  const tolerance = 1e-9 * Math.max(1, Math.abs(expected), scale);
  assert.ok(Math.abs(actual! - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

describe('core: window statistics against a naive reference', () => {
  it('agrees on every statistic for thousands of random sliding windows', () => {
    const random = seededRandom(11);
    let checks = 0;
    for (let round = 0; round < 60; round++) {
      const length = 1 + Math.floor(random() * 200);
      // offsets far from zero and tiny noise are what break naive running sums
      const offset = [0, 1e6, -5e3, 1e9][round % 4];
      const spread = [1, 0.001, 100, 5][round % 4];
      const integers = round % 5 === 0; // many duplicates
      const w = new WindowStats(true);
      const xs: number[] = [];
      const ts: number[] = [];
      let t = 1_764_000_000_000 + round * 1e6;
      for (let i = 0; i < 600; i++) {
        const x = integers ? offset + Math.floor(random() * 5) : offset + spread * (random() - 0.5);
        t += Math.floor(random() * 3) * 250; // equal timestamps happen
        w.add(x, t);
        xs.push(x);
        ts.push(t);
        if (xs.length > length) {
          w.evict();
          xs.shift();
          ts.shift();
        }
        if (i % 7 === 0 || i === 599) {
          const scale = Math.abs(offset) * 1e-6;
          for (const name of ALL) {
            const expected = naive(xs, ts, name);
            const loose = name === 'slope' || name === 'variance' || name === 'stddev' ? 1e3 * spread : scale;
            close(w.get(name), expected, loose, `${name} (round ${round}, sample ${i})`);
            checks++;
          }
        }
      }
    }
    assert.ok(checks > 10_000, `${checks} checks`);
  });

  it('handles empty and single-sample windows', () => {
    const w = new WindowStats(true);
    assert.deepEqual(w.result(['count', 'sum', 'mean', 'min', 'median', 'slope']), { count: 0, sum: 0, mean: null, min: null, median: null, slope: null });
    w.add(42, 1000);
    assert.deepEqual(w.result(['count', 'sum', 'mean', 'min', 'max', 'stddev', 'median', 'p99', 'slope', 'rate', 'first', 'last']), {
      count: 1, sum: 42, mean: 42, min: 42, max: 42, stddev: 0, median: 42, p99: 42, slope: null, rate: null, first: 42, last: 42,
    });
    w.evict();
    assert.equal(w.get('mean'), null);
    w.add(1, 2000);
    assert.equal(w.get('mean'), 1, 'usable again after emptying');
  });

  it('evicts by time and keeps exact values', () => {
    const w = new WindowStats(false);
    for (let i = 0; i < 10; i++) w.add(i, i * 1000);
    w.evictBefore(5000);
    assert.deepEqual(w.values(), [5, 6, 7, 8, 9]);
    assert.deepEqual(w.result(['count', 'sum', 'min', 'max', 'slope', 'rate']), { count: 5, sum: 35, min: 5, max: 9, slope: 1, rate: 1 });
    assert.throws(() => w.get('median'), /percentiles were not enabled/);
  });

  it('does not drift over a million slides', () => {
    const w = new WindowStats(false);
    const random = seededRandom(3);
    const xs: number[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const x = 1000 + random();
      w.add(x, i * 10);
      xs.push(x);
      if (xs.length > 100) {
        w.evict();
        xs.shift();
      }
    }
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(w.get('mean')! - mean) < 1e-9);
    assert.ok(Math.abs(w.get('variance')! - naive(xs, [], 'variance')!) < 1e-9);
  });

  it('names unknown statistics', () => {
    assert.deepEqual(validateStatistics(['mean', 'p99.9', 'p95', 'avg']), [
      { key: 'statistic', vars: { name: 'avg', list: 'count, sum, mean, min, max, first, last, range, stddev, variance, median, rms, slope, rate' } },
    ]);
    assert.deepEqual(validateStatistics([]), [{ key: 'noStatistics' }]);
  });
});

describe('core: order statistics', () => {
  it('selects the k-th value like a sorted array through random inserts and deletes', () => {
    const random = seededRandom(5);
    const os = new OrderStatistics();
    const ref: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      if (ref.length > 0 && random() < 0.45) {
        const v = ref[Math.floor(random() * ref.length)];
        assert.equal(os.delete(v), true);
        ref.splice(ref.indexOf(v), 1);
      } else {
        const v = Math.floor(random() * 1000) / 10;
        os.insert(v);
        ref.push(v);
      }
      if (i % 97 === 0 && ref.length > 0) {
        const sorted = [...ref].sort((a, b) => a - b);
        for (const k of [0, Math.floor(sorted.length / 2), sorted.length - 1]) assert.equal(os.select(k), sorted[k]);
      }
    }
    assert.equal(os.size, ref.length);
    assert.equal(os.delete(-1), false);
  });
});

import assert from 'node:assert/strict';
import { StreamWindows, WindowOptions, WindowResult, validateWindow, roundStats } from '../../../nodes/core/streams/windowing';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

const opts = (o: Partial<WindowOptions>): WindowOptions => ({
  kind: 'tumbling', size: 1000, align: 'clock', time: 'event', lateness: 0, statistics: ['count', 'mean', 'first', 'last'], maxSamples: 100_000, ...o,
});

type Stats = Record<string, number | null>;
const stat = (r: WindowResult) => r.stats as Stats;

function feed(w: StreamWindows, samples: Array<[number, number]>): WindowResult[] {
  return samples.flatMap(([x, t]) => w.add(x, t).results);
}

describe('core: windows', () => {
  it('count windows: tumbling by N, partial flush', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 3 }));
    const results = feed(w, [1, 2, 3, 4, 5, 6, 7].map((x) => [x, x * 10]));
    assert.deepEqual(results.map((r) => [stat(r).mean, r.count, r.start, r.end, r.partial]), [[2, 3, 10, 30, false], [5, 3, 40, 60, false]]);
    const [rest] = w.flush();
    assert.deepEqual([stat(rest).mean, rest.count, rest.partial], [7, 1, true]);
  });

  it('count windows hopping: N=4 every 2', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 4, hop: 2, statistics: ['first', 'last', 'count'] }));
    const results = feed(w, [1, 2, 3, 4, 5, 6, 7, 8].map((x) => [x, x]));
    assert.deepEqual(results.map((r) => [stat(r).first, stat(r).last, stat(r).count]), [[1, 4, 4], [3, 6, 4], [5, 8, 4]]);
  });

  it('tumbling time windows aligned to the clock: [start, end) exactly', () => {
    const w = new StreamWindows(opts({}));
    const results = feed(w, [[1, 100], [2, 999], [3, 1000], [4, 1999], [5, 2000]]);
    assert.deepEqual(results.map((r) => [r.start, r.end, r.count, stat(r).mean]), [[0, 1000, 2, 1.5], [1000, 2000, 2, 3.5]]);
  });

  it('tumbling windows aligned to the first sample', () => {
    const w = new StreamWindows(opts({ align: 'first' }));
    const results = feed(w, [[1, 150], [2, 1149], [3, 1150], [4, 2150]]);
    assert.deepEqual(results.map((r) => [r.start, r.end, r.count]), [[150, 1150, 2], [1150, 2150, 1]]);
  });

  it('hopping windows: each sample in every window that covers it', () => {
    const w = new StreamWindows(opts({ kind: 'hopping', size: 1000, hop: 500, statistics: ['count', 'sum'] }));
    const results = feed(w, [[1, 200], [2, 700], [4, 1200], [8, 3000]]);
    assert.deepEqual(results.map((r) => [r.start, r.end, stat(r).sum]), [[-500, 500, 1], [0, 1000, 3], [500, 1500, 6], [1000, 2000, 4]]);
  });

  it('event time: out-of-order samples within the lateness count, later ones are refused as late', () => {
    const w = new StreamWindows(opts({ lateness: 500 }));
    assert.deepEqual(w.add(1, 900).results, []);
    assert.deepEqual(w.add(2, 1200).results, []);
    assert.deepEqual(w.add(3, 400).results, [], 'within the lateness: still counted');
    const closed = w.add(4, 1600).results;
    assert.deepEqual(closed.map((r) => [r.start, r.count, stat(r).first, stat(r).last]), [[0, 2, 3, 1]], 'first and last by time');
    assert.deepEqual(w.add(5, 950), { results: [], refused: 'late' });
    assert.equal(w.counters.late, 1);
  });

  it('sliding windows: one result per sample over the last T', () => {
    const w = new StreamWindows(opts({ kind: 'sliding', size: 1000, statistics: ['count', 'sum'] }));
    const results = feed(w, [[1, 0], [2, 500], [4, 999], [8, 1000], [16, 2500]]);
    assert.deepEqual(results.map((r) => [stat(r).count, stat(r).sum]), [[1, 1], [2, 3], [3, 7], [3, 14], [1, 16]]);
    assert.deepEqual(w.add(1, 2000), { results: [], refused: 'late' });
  });

  it('gives each field of object samples its own statistics, fields in first-seen order', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 2, statistics: ['mean', 'count'] }));
    w.add({ t: 60, p: 4 }, 1);
    const [r] = w.add({ t: 62, p: 4.4, v: 1 }, 2).results;
    assert.deepEqual(r.stats, { t: { mean: 61, count: 2 }, p: { mean: 4.2, count: 2 }, v: { mean: 1, count: 1 } });
    assert.deepEqual(r.fields, ['t', 'p', 'v']);
    assert.equal(r.scalar, false);
  });

  it('bounds memory: samples past the per-window limit are refused and counted', () => {
    const w = new StreamWindows(opts({ maxSamples: 3 }));
    for (let i = 0; i < 3; i++) assert.equal(w.add(i, i).refused, undefined);
    assert.equal(w.add(9, 5).refused, 'full');
    assert.equal(w.counters.full, 1);
  });

  it('matches a naive grouping for thousands of out-of-order event-time samples', () => {
    const random = seededRandom(21);
    for (let round = 0; round < 30; round++) {
      const size = 100 + Math.floor(random() * 900);
      const lateness = Math.floor(random() * 400);
      const w = new StreamWindows(opts({ size, lateness, statistics: ['count', 'sum', 'min', 'max', 'first', 'last'] }));
      const accepted: Array<[number, number]> = [];
      const emitted: WindowResult[] = [];
      let clock = 1_000_000;
      for (let i = 0; i < 400; i++) {
        clock += Math.floor(random() * 60);
        const t = clock - Math.floor(random() * (lateness + 50)); // some beyond the lateness
        const x = Math.round(random() * 100);
        const outcome = w.add(x, t);
        emitted.push(...outcome.results);
        if (!outcome.refused) accepted.push([x, t]);
      }
      emitted.push(...w.flush());
      const groups = new Map<number, Array<[number, number]>>();
      for (const [x, t] of accepted) {
        const start = Math.floor(t / size) * size;
        groups.set(start, [...(groups.get(start) ?? []), [x, t]]);
      }
      assert.deepEqual(emitted.map((r) => r.start), [...groups.keys()].sort((a, b) => a - b), `round ${round}: window starts`);
      for (const r of emitted) {
        const g = groups.get(r.start)!.slice().sort((a, b) => a[1] - b[1]);
        const xs = g.map(([x]) => x);
        const s = stat(r);
        assert.equal(s.count, xs.length);
        assert.equal(s.sum, xs.reduce((a, b) => a + b, 0));
        assert.equal(s.min, Math.min(...xs));
        assert.equal(s.max, Math.max(...xs));
        // equal timestamps keep arrival order
        const firstT = g[0][1];
        const lastT = g[g.length - 1][1];
        assert.ok(g.some(([x, t]) => t === firstT && x === s.first), 'first is the earliest sample');
        assert.ok(g.some(([x, t]) => t === lastT && x === s.last), 'last is the latest sample');
        assert.ok(r.end - r.start === size);
      }
    }
  });

  it('sends a count window once: a flush right after it sends nothing more', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 2 }));
    assert.equal(feed(w, [[1, 1], [3, 2]]).length, 1);
    assert.deepEqual(w.flush(), []);
  });

  it('drops fields that leave the window, and defaults feature channels to the window\'s own fields', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 1, statistics: ['mean'] }));
    w.add({ a: 1, extra: 5 }, 1);
    const [r] = w.add({ a: 2 }, 2).results;
    assert.deepEqual(r.stats, { a: { mean: 2 } });
    assert.deepEqual(r.fields, ['a']);
  });

  it('enforces the lateness even for windows never opened, and hopping windows aligned to the first sample start at it', () => {
    const late = new StreamWindows(opts({ size: 10, lateness: 0 }));
    late.add(1, 5);
    late.add(1, 25);
    assert.deepEqual(late.add(1, 15), { results: [], refused: 'late' });
    const hop = new StreamWindows(opts({ kind: 'hopping', size: 10, hop: 2, align: 'first', statistics: ['count'] }));
    const results = feed(hop, [[1, 100], [1, 111]]);
    assert.deepEqual(results.map((r) => r.start), [100]);
  });

  it('after a flush, a window reopened in the flushed period is partial; a reset forgets everything', () => {
    const w = new StreamWindows(opts({ size: 10_000 }));
    w.add(1, 1000);
    assert.equal(w.flush()[0].partial, true);
    w.add(2, 2000);
    const [again] = w.add(3, 10_000).results;
    assert.deepEqual([again.start, again.count, again.partial], [0, 1, true]);
    w.reset();
    assert.equal(w.add(4, 5).refused, undefined, 'no late threshold after a reset');
  });

  it('rounds statistics but never the count', () => {
    assert.deepEqual(roundStats({ count: 137, mean: 1.23456 }, 2), { count: 137, mean: 1.2 });
  });

  it('names each bad setting by its message key', () => {
    const keys = (o: Partial<WindowOptions>) => validateWindow(opts(o)).map((p) => p.key);
    assert.deepEqual(keys({ kind: 'count', size: 2.5, hop: 3 }), ['countSize', 'countHop']);
    assert.deepEqual(keys({ kind: 'hopping', size: 1000, hop: 0 }), ['hop']);
    assert.deepEqual(keys({}), []);
    assert.deepEqual(validateWindow(opts({ kind: 'count', size: 500, maxSamples: 100 })), [{ key: 'countAboveLimit', vars: { size: 500, max: 100 } }]);
  });
  it('a late sample in a count window is placed, not re-sorted for: results as if in time order, and in order again after', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 4, hop: 1, time: 'processing', statistics: ['count', 'first', 'last', 'rate', 'mean'] }));
    const results = feed(w, [[1, 1000], [2, 2000], [3, 3000], [0, 500], [4, 4000], [5, 5000], [6, 6000], [7, 7000], [8, 8000]]);
    // the window with the late sample: first is the earliest time, last the latest, the rate between them
    const late = results[results.length - 6];
    assert.deepEqual([stat(late).first, stat(late).last, stat(late).rate, late.start, late.end], [0, 3, 3 / 2.5, 500, 3000]);
    const after = results[results.length - 1];
    assert.deepEqual([stat(after).first, stat(after).last, after.start, after.end], [5, 8, 5000, 8000]);
  });

  it('bounds the fields of a stream: a sample that brings too many is refused and counted; fields that left make room', () => {
    const w = new StreamWindows(opts({ kind: 'count', size: 2, time: 'processing', maxFields: 100, statistics: ['mean'] }));
    const wide = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i]));
    assert.equal(w.add(wide, 1).refused, 'fields');
    assert.equal(w.counters.fields, 1);
    const some = (from: number) => Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`g${from + i}`, i]));
    assert.equal(w.add(some(0), 2).refused, undefined);
    assert.equal(w.add(some(60), 3).refused, 'fields', '120 fields in one window');
    // the window of two closes; its fields leave, and new ones fit
    assert.equal(w.add(some(0), 4).refused, undefined);
    assert.equal(w.add(some(1000), 6).refused, undefined, 'fields no window holds make room');
    assert.deepEqual(validateWindow(opts({ maxFields: 0 })), [{ key: 'maxFields' }]);
  });
});

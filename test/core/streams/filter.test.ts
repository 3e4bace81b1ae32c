import assert from 'node:assert/strict';
import { StreamFilter, FilterOptions, Decision, outlierScore, validateFilter } from '../../../nodes/core/streams/filter';
import { seededRandom, gaussian } from '../../../nodes/core/sensor/simulator';

const opts = (o: Partial<FilterOptions>): FilterOptions => ({
  quality: 'good-uncertain', rangeAction: 'drop', outlier: 'none', outlierWindow: 20, outlierThreshold: 4, stepAfter: 3,
  deadband: 'none', deadbandValue: 0, deadbandCompare: 'sent', heartbeatMs: 0, rate: 'none', rateMs: 0, ...o,
});

const passed = (ds: Decision[]) => ds.filter((d) => d.action === 'pass').map((d) => (d as { value: number }).value);

describe('core: filter', () => {
  it('checks quality and numbers, with reasons', () => {
    const f = new StreamFilter(opts({ quality: 'good' }));
    assert.deepEqual(f.process(1, 'uncertain', 0), { action: 'reject', reason: 'quality', detail: 'quality is uncertain' });
    assert.deepEqual(f.process(NaN, undefined, 0), { action: 'reject', reason: 'not-numeric', detail: 'value NaN is not a finite number' });
    assert.deepEqual(f.process(null, undefined, 0), { action: 'reject', reason: 'not-numeric', detail: 'value null is not a finite number' });
    assert.deepEqual(f.process('abc', undefined, 0), { action: 'reject', reason: 'not-numeric', detail: 'value "abc" is not a finite number' });
    assert.deepEqual(f.process('4.5', undefined, 0), { action: 'pass', value: 4.5, quality: undefined });
    assert.deepEqual(new StreamFilter(opts({ quality: 'all' })).process(2, 'bad', 0), { action: 'pass', value: 2, quality: 'bad' });
  });

  it('applies the range with each action', () => {
    assert.deepEqual(new StreamFilter(opts({ min: 0, max: 10 })).process(11, undefined, 0), { action: 'reject', reason: 'range', detail: '11 is outside 0 to 10' });
    assert.deepEqual(new StreamFilter(opts({ min: 0, max: 10, rangeAction: 'clamp' })).process(-3, undefined, 0), { action: 'pass', value: 0, quality: undefined, note: 'clamped' });
    assert.deepEqual(new StreamFilter(opts({ max: 10, rangeAction: 'mark-bad' })).process(12, 'good', 0), { action: 'pass', value: 12, quality: 'bad' });
  });

  it('reports by exception: absolute and percent deadbands, against last sent or last input', () => {
    const abs = new StreamFilter(opts({ deadband: 'absolute', deadbandValue: 0.5 }));
    assert.deepEqual(passed([10, 10.3, 10.6, 10.9, 11.2, 9].map((x, i) => abs.process(x, undefined, i))), [10, 10.6, 11.2, 9]);
    const pct = new StreamFilter(opts({ deadband: 'percent', deadbandValue: 10 }));
    assert.deepEqual(passed([100, 105, 109, 111, 121, 123].map((x, i) => pct.process(x, undefined, i))), [100, 111, 123]);
    // compared with the last input, a slow creep never passes
    const creep = new StreamFilter(opts({ deadband: 'absolute', deadbandValue: 0.5, deadbandCompare: 'input' }));
    assert.deepEqual(passed([10, 10.3, 10.6, 10.9, 11.2].map((x, i) => creep.process(x, undefined, i))), [10]);
    assert.equal(creep.counters.deadband, 4);
  });

  it('sends a heartbeat after N s without a send, on input and on the clock', () => {
    const f = new StreamFilter(opts({ deadband: 'absolute', deadbandValue: 1, heartbeatMs: 10_000 }));
    assert.equal(f.process(5, undefined, 0).action, 'pass');
    assert.equal(f.process(5.1, undefined, 5000).action, 'reject');
    assert.deepEqual(f.process(5.2, undefined, 10_000), { action: 'pass', value: 5.2, quality: undefined });
    assert.equal(f.due(15_000), undefined);
    assert.deepEqual(f.due(20_000), { value: 5.2, quality: undefined, heartbeat: true });
    assert.equal(f.due(20_001), undefined);
  });

  it('rate limits: first, latest and average per interval', () => {
    const first = new StreamFilter(opts({ rate: 'first', rateMs: 1000 }));
    assert.deepEqual(passed([1, 2, 3, 4].map((x, i) => first.process(x, undefined, i * 400))), [1, 4]);
    for (const [mode, expected] of [['latest', 3], ['average', 2]] as const) {
      const f = new StreamFilter(opts({ rate: mode, rateMs: 1000 }));
      assert.deepEqual([1, 2, 3].map((x, i) => f.process(x, undefined, i * 100).action), ['hold', 'hold', 'hold']);
      assert.equal(f.due(999), undefined);
      assert.deepEqual(f.due(1000), { value: expected, quality: undefined });
      assert.equal(f.due(2500), undefined, 'nothing held, no heartbeat: nothing due');
    }
  });

  it('rejects outliers by z-score and by MAD, but accepts a real step after K samples', () => {
    for (const method of ['zscore', 'mad'] as const) {
      const f = new StreamFilter(opts({ outlier: method, outlierWindow: 30, outlierThreshold: 5, stepAfter: 3 }));
      const noise = gaussian(seededRandom(4));
      const ds: Decision[] = [];
      for (let i = 0; i < 50; i++) ds.push(f.process(20 + 0.1 * noise(), undefined, i));
      assert.equal(ds.filter((d) => d.action === 'reject').length, 0, `${method}: normal noise passes`);
      const spike = f.process(35, undefined, 50);
      assert.equal(spike.action, 'reject', `${method}: a lone spike is rejected`);
      assert.equal(f.process(20.05, undefined, 51).action, 'pass');
      // a real step to 30: the first two are held back as outliers, the third is accepted as a step
      const step = [30, 30.1, 29.9, 30.05, 30.02].map((x, i) => f.process(x, undefined, 52 + i));
      assert.deepEqual(step.map((d) => d.action), ['reject', 'reject', 'pass', 'pass', 'pass'], method);
      assert.equal((step[2] as { note?: string }).note, 'step');
    }
  });

  it('MAD resists the outliers it is looking for; z-score is pulled by them', () => {
    const window = [10, 10.1, 9.9, 10, 10.2, 9.8, 10, 100, 100];
    assert.ok(outlierScore(window, 100, 'mad') > 100);
    assert.ok(outlierScore(window, 100, 'zscore') < 3);
  });

  it('passes a change of quality even inside the deadband', () => {
    const f = new StreamFilter(opts({ quality: 'all', deadband: 'absolute', deadbandValue: 1 }));
    assert.equal(f.process(5, 'good', 0).action, 'pass');
    assert.deepEqual(f.process(5.1, 'bad', 1), { action: 'pass', value: 5.1, quality: 'bad' });
    assert.equal(f.process(5.2, 'bad', 2).action, 'reject');
  });

  it('takes a resolution so quantised data is not all outliers', () => {
    const window = [20, 20, 20, 20, 20, 20, 20, 20.1, 20, 20];
    assert.equal(outlierScore(window, 20.1, 'mad'), Infinity);
    assert.ok(outlierScore(window, 20.1, 'mad', 0.1) < 2);
    assert.ok(outlierScore(window, 25, 'mad', 0.1) > 30);
  });

  it('does not let a rate-limited value become the deadband reference', () => {
    const f = new StreamFilter(opts({ deadband: 'absolute', deadbandValue: 0.5, deadbandCompare: 'input', rate: 'first', rateMs: 1000 }));
    assert.equal(f.process(10, undefined, 0).action, 'pass');
    assert.deepEqual(f.process(20, undefined, 100), { action: 'reject', reason: 'rate', detail: 'a value was already sent in this interval' });
    assert.equal(f.process(20, undefined, 1200).action, 'pass', 'the step is not lost');
  });

  it('heartbeats carry the newest accepted value, and say uncertain after rejections', () => {
    const f = new StreamFilter(opts({ deadband: 'absolute', deadbandValue: 1, heartbeatMs: 1000, min: 0, max: 100 }));
    f.process(5, undefined, 0);
    f.process(5.5, undefined, 100); // held back by the deadband, but accepted
    assert.deepEqual(f.due(1000), { value: 5.5, quality: undefined, heartbeat: true });
    f.process(500, undefined, 1100); // out of range
    assert.deepEqual(f.due(2000), { value: 5.5, quality: 'uncertain', heartbeat: true });
  });

  it('names each bad setting by its message key', () => {
    assert.deepEqual(validateFilter(opts({ min: 5, max: 1, outlier: 'mad', outlierWindow: 2, rate: 'latest', rateMs: 0 })), [
      'minAboveMax', 'outlierWindow', 'rate',
    ]);
  });
});

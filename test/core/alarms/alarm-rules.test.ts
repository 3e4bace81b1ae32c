import assert from 'node:assert/strict';
import { RuleEvaluator, RuleOptions, formatMessage, severityOf, validateRule } from '../../../nodes/core/alarms/alarm-rules';

const rule = (o: Partial<RuleOptions>) => new RuleEvaluator({ kind: 'high', limit: 80, deadband: 0, onDelayMs: 0, offDelayMs: 0, ...o });

/** Feeds values one second apart; returns the events with the index of the sample that caused them. */
function run(r: RuleEvaluator, values: unknown[], extra: object = {}): string[] {
  return values.flatMap((value, i) => {
    const e = r.sample({ value, ts: i * 1000, ...extra });
    return e ? [`${i}:${e}`] : [];
  });
}

describe('core: alarm rules', () => {
  it('high limit with a deadband on return', () => {
    assert.deepEqual(run(rule({ deadband: 5 }), [70, 81, 79, 76, 74, 81]), ['1:activate', '4:clear', '5:activate']);
    assert.deepEqual(run(rule({ kind: 'high-high', limit: 95 }), [90, 96, 94]), ['1:activate', '2:clear']);
  });

  it('low limit with a deadband on return', () => {
    assert.deepEqual(run(rule({ kind: 'low', limit: 10, deadband: 2 }), [15, 9, 11, 12.5]), ['1:activate', '3:clear']);
  });

  it('deviation from a fixed setpoint or one the message brings', () => {
    assert.deepEqual(run(rule({ kind: 'deviation', limit: 3, setpoint: 50 }), [50, 54, 52]), ['1:activate', '2:clear']);
    const r = rule({ kind: 'deviation', limit: 3 });
    assert.equal(r.sample({ value: 24, setpoint: 20, ts: 0 }), 'activate');
  });

  it('rate of change per second', () => {
    assert.deepEqual(run(rule({ kind: 'rate', limit: 2 }), [10, 11, 15, 16]), ['2:activate', '3:clear']);
  });

  it('boolean flags and the anomaly flag of an inference result', () => {
    assert.deepEqual(run(rule({ kind: 'flag' }), [false, true, { anomaly: true, score: 9 }, { anomaly: false }]), ['1:activate', '3:clear']);
  });

  it('bad quality and stale data', () => {
    const q = rule({ kind: 'bad-quality' });
    assert.equal(q.sample({ value: 1, quality: 'bad', ts: 0 }), 'activate');
    assert.equal(q.sample({ value: 1, quality: 'good', ts: 1 }), 'clear');
    const s = rule({ kind: 'stale', limit: 10 });
    s.sample({ value: 1, ts: 0 });
    assert.equal(s.tick(9_999), undefined);
    assert.equal(s.tick(10_000), 'activate');
    assert.equal(s.sample({ value: 2, ts: 12_000 }), 'clear');
  });

  it('on-delay: the condition must hold without a break; off-delay likewise', () => {
    const r = rule({ onDelayMs: 2000, offDelayMs: 1000 });
    assert.deepEqual(run(r, [90, 90, 70, 90, 90, 90, 70, 90, 70, 70]), ['5:activate', '9:clear']);
    const t = rule({ onDelayMs: 2000 });
    t.sample({ value: 90, ts: 0 });
    assert.equal(t.tick(1999), undefined);
    assert.equal(t.tick(2000), 'activate', 'the clock completes a delay without a new sample');
  });

  it('ignores values it cannot judge', () => {
    assert.deepEqual(run(rule({}), ['hot', NaN, null, 90]), ['3:activate']);
  });

  it('maps priority to severity, fills messages, validates rules', () => {
    assert.deepEqual([1, 249, 250, 500, 750, 1000].map(severityOf), ['low', 'low', 'medium', 'high', 'critical', 'critical']);
    assert.equal(formatMessage('{{id}}: {{ value }} °C above {{limit}}', { id: 'T1', value: 81.23456789, limit: 80 }), 'T1: 81.2346 °C above 80');
    assert.deepEqual(validateRule({ kind: 'rate', limit: 0, deadband: -1, onDelayMs: 0, offDelayMs: -5 }), [
      'limitPositive', 'deadband', 'delays',
    ]);
  });

  it('is stale from the start for a source that never sends, and keeps a restored stale alarm until data comes', () => {
    const never = new RuleEvaluator({ kind: 'stale', limit: 10, deadband: 0, onDelayMs: 0, offDelayMs: 0 }, 0);
    assert.equal(never.tick(10_000), 'activate');
    const again = new RuleEvaluator({ kind: 'stale', limit: 10, deadband: 0, onDelayMs: 0, offDelayMs: 0 }, 50_000);
    again.restore(never.snapshot(), 50_000);
    assert.equal(again.tick(50_001), undefined, 'no data yet: still stale');
    assert.equal(again.sample({ value: 1, ts: 51_000 }), 'clear');
    const bad = new RuleEvaluator({ kind: 'stale', limit: 10, deadband: 0, onDelayMs: 0, offDelayMs: 0 }, 0);
    bad.sample({ value: {}, quality: 'bad', ts: 5000 });
    assert.equal(bad.tick(10_000), 'activate', 'bad data is no sign of life');
  });

  it('takes no late sample as the reference for the rate', () => {
    const r = rule({ kind: 'rate', limit: 2 });
    r.sample({ value: 1000, ts: 0 });
    r.sample({ value: 1000.5, ts: 1000 });
    r.sample({ value: 0, ts: 900 });
    // against the real previous sample: 0.1 in 100 ms is 1/s, below the limit
    assert.equal(r.sample({ value: 1000.6, ts: 1100 }), undefined);
  });

  it('restores its state after a restart', () => {
    const r = rule({});
    r.sample({ value: 90, ts: 0 });
    const again = rule({});
    again.restore(r.snapshot(), 500);
    assert.equal(again.active, true);
    assert.equal(again.sample({ value: 70, ts: 1000 }), 'clear');
  });
});

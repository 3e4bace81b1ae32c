import assert from 'node:assert/strict';
import { ChatterDetector, FloodDetector, RateCounter } from '../../../nodes/core/alarms/alarm-flood';

describe('core: alarm floods and chattering', () => {
  it('counts events in a sliding window', () => {
    const c = new RateCounter(1000);
    assert.deepEqual([0, 100, 999, 1000, 1500].map((t) => c.add(t)), [1, 2, 3, 3, 3]);
    assert.equal(c.count(2600), 0);
  });

  it('detects chatter after N transitions within T and ends it after a quiet window', () => {
    const d = new ChatterDetector(3, 60_000);
    assert.deepEqual([0, 1000, 2000].map((t) => d.transition(t)), [undefined, undefined, undefined]);
    assert.equal(d.transition(3000), 'start');
    assert.equal(d.transition(4000), undefined, 'reported once');
    assert.equal(d.check(30_000), undefined);
    assert.equal(d.check(64_001), 'stop');
    assert.equal(d.isChattering, false);
  });

  it('replaces a flood of activations by a summary: 10 in 10 minutes by default', () => {
    const f = new FloodDetector(10, 600_000);
    const sent = Array.from({ length: 10 }, (_, i) => f.activation(i * 1000).send);
    assert.deepEqual(sent, new Array(10).fill(true));
    assert.deepEqual(f.activation(10_000), { send: false, flood: 'start' });
    for (let i = 0; i < 25; i++) assert.deepEqual(f.activation(11_000 + i * 1000), { send: false });
    assert.equal(f.heldBackSoFar, 26);
    assert.equal(f.check(100_000), undefined, 'still above the rate');
    assert.deepEqual(f.check(11_000 + 24_000 + 600_000), { end: true, heldBack: 26 });
    assert.deepEqual(f.activation(700_000), { send: true });
  });
});

import assert from 'node:assert/strict';
import { Backoff } from '../../../nodes/core/connections/backoff';

describe('core: reconnect backoff', () => {
  it('doubles from the initial delay up to the ceiling', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 5000, jitter: 0 });
    assert.deepEqual(Array.from({ length: 7 }, () => b.next()), [500, 1000, 2000, 4000, 5000, 5000, 5000]);
    assert.equal(b.failures, 7);
    b.reset();
    assert.equal(b.next(), 500);
  });

  it('keeps jittered delays within [ceiling*(1-jitter), ceiling]', () => {
    let r = 0;
    const seq = [0, 0.999999, 0.5];
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => seq[r++ % 3] });
    assert.deepEqual([b.next(), b.next(), b.next()], [500, 2000, 3000]);
    const real = new Backoff({ initialMs: 1000, maxMs: 8000, jitter: 0.5 });
    for (let i = 0; i < 1000; i++) {
      const ceiling = real.ceiling(Math.min(real.failures, 64));
      const d = real.next();
      assert.ok(d >= ceiling / 2 && d <= ceiling, `${d} within [${ceiling / 2}, ${ceiling}]`);
    }
  });

  it('spreads a fleet: 1,000 clients retrying after the same outage do not collide', () => {
    const delays = Array.from({ length: 1000 }, () => new Backoff({ initialMs: 1000, maxMs: 60_000 }).next());
    const perSlot = new Map<number, number>();
    for (const d of delays) perSlot.set(Math.floor(d / 50), (perSlot.get(Math.floor(d / 50)) ?? 0) + 1);
    // 500 ms of jitter in 50 ms slots: about 100 per slot; lock-step reconnects would put all 1,000 in one.
    assert.ok(Math.max(...perSlot.values()) < 200);
  });

  it('refuses nonsense settings', () => {
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), /initialMs/);
    assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), /initialMs/);
  });
});

import assert from 'node:assert/strict';
import { Backoff, DEFAULT_MQTT_BACKOFF } from '../../../nodes/core/connections/backoff';
import { brokerSettings } from '../../../nodes/core/connections/mqtt-settings';

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

  it('full jitter (the default of an MQTT link) draws each delay from [0, ceiling]', () => {
    let r = 0;
    const seq = [0, 0.999999, 0.25];
    const b = new Backoff({ ...DEFAULT_MQTT_BACKOFF, random: () => seq[r++ % 3] });
    assert.deepEqual([b.next(), b.next(), b.next()], [0, 2000, 1000]);
    // after an outage long enough to reach the ceiling, 1,000 gateways' next attempts spread over the whole minute
    const late = Array.from({ length: 1000 }, () => {
      const one = new Backoff(DEFAULT_MQTT_BACKOFF);
      for (let i = 0; i < 7; i++) one.next();
      return one.next();
    });
    const perSecond = new Map<number, number>();
    for (const d of late) perSecond.set(Math.floor(d / 1000), (perSecond.get(Math.floor(d / 1000)) ?? 0) + 1);
    assert.equal(perSecond.size, 60, 'every second of the minute has some');
    assert.ok(Math.max(...perSecond.values()) < 40, `about 17 a second, at most ${Math.max(...perSecond.values())}`);
  });

  it('edge-mqtt-broker: reconnect bounds in seconds, full jitter, and bounds that cannot work named', () => {
    assert.deepEqual(brokerSettings({ url: 'mqtt://h' }, {}).options.backoff, { initialMs: 1000, maxMs: 60_000, jitter: 1 });
    const set = brokerSettings({ url: 'mqtt://h', reconnectMinS: '0.5', reconnectMaxS: '300' }, {});
    assert.deepEqual([set.options.backoff, set.problems], [{ initialMs: 500, maxMs: 300_000, jitter: 1 }, []]);
    const cases: Array<[string, string, string | undefined]> = [['2', '1', 'longest'], ['0.05', '10', 'first'], ['1', '4000', 'longest'], ['x', '60', 'first'], ['1', '', undefined]];
    for (const [min, max, bound] of cases) {
      const problems = brokerSettings({ url: 'mqtt://h', reconnectMinS: min, reconnectMaxS: max }, {}).problems;
      assert.deepEqual(problems, bound ? [{ key: 'reconnect', vars: { bound } }] : [], `${min} to ${max}`);
    }
  });

  it('refuses nonsense settings', () => {
    assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), /initialMs/);
    assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), /initialMs/);
  });
});

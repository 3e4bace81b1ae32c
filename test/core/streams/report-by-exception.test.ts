import assert from 'node:assert/strict';
import { ExceptionReporter } from '../../../nodes/core/streams/report-by-exception';

const stats = (temperature: number, vibration: number) => ({ temperature: { count: 600, mean: temperature, max: temperature + 1 }, vibration: { count: 600, mean: vibration } });

describe('core: statistics reported by exception', () => {
  it('percent: a window goes when any field\'s mean moved beyond the band from the last one sent', () => {
    const r = new ExceptionReporter({ mode: 'percent', band: 1, heartbeatMs: 0 });
    const sent = [
      stats(60, 2.0), // the first always goes
      stats(60.5, 2.01), // 0.8 % and 0.5 %: held
      stats(60.59, 2.0), // 0.98 % from 60: held (compared with the last sent, not the last seen)
      stats(60.61, 2.0), // 1.02 %: goes
      stats(60.61, 2.03), // vibration 1.5 %: goes
      stats(60.61, 2.03),
    ].map((s, i) => r.pass(s, i * 60_000));
    assert.deepEqual(sent, [true, false, false, true, true, false]);
    assert.equal(sent.filter((s) => !s).length, 3, 'three held back');
  });

  it('absolute, a heartbeat on the windows\' own time, and a field that appears', () => {
    const r = new ExceptionReporter({ mode: 'absolute', band: 0.5, heartbeatMs: 180_000 });
    assert.equal(r.pass({ mean: 10 }, 0), true);
    assert.equal(r.pass({ mean: 10.4 }, 60_000), false);
    assert.equal(r.pass({ mean: 9.6 }, 120_000), false);
    assert.equal(r.pass({ mean: 10 }, 180_000), true, 'the heartbeat is due');
    assert.equal(r.pass({ mean: 10.6 }, 190_000), true, '0.6 above');
    const fields = new ExceptionReporter({ mode: 'absolute', band: 0.5, heartbeatMs: 0 });
    assert.equal(fields.pass({ a: { mean: 1 } }, 0), true);
    assert.equal(fields.pass({ a: { mean: 1 }, b: { mean: 2 } }, 1), true, 'a field appeared');
    assert.equal(fields.pass({ a: { mean: 1 }, b: { mean: 2 } }, 2), false);
    assert.equal(fields.pass({ b: { mean: 2 } }, 3), true, 'a field went');
  });

  it('none: every window goes', () => {
    const r = new ExceptionReporter({ mode: 'none', band: 0, heartbeatMs: 0 });
    assert.deepEqual([1, 1, 1].map((x, i) => r.pass({ mean: x }, i)), [true, true, true]);
  });
});

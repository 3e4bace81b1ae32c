import assert from 'node:assert/strict';
import { Simulator, ChannelSpec, validateChannels, seededRandom, gaussian } from '../../../nodes/core/sensor/simulator';

const flat = (p: Partial<ChannelSpec> = {}): ChannelSpec =>
  ({ name: 'x', waveform: 'constant', base: 10, amplitude: 0, periodS: 60, noise: 0, drift: 0, decimals: -1, ...p });

function run(sim: Simulator, seconds: number, stepS = 1): number[] {
  return Array.from({ length: seconds / stepS + 1 }, (_, i) => sim.sample(1_000_000 + i * stepS * 1000).x);
}

describe('core: simulator', () => {
  it('gives the same series for the same seed and a different one for another seed', () => {
    const channels = [flat({ waveform: 'random-walk', amplitude: 0.5, noise: 0.2 })];
    const a = run(new Simulator(channels, [], 5), 200);
    const b = run(new Simulator(channels, [], 5), 200);
    const c = run(new Simulator(channels, [], 6), 200);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('produces a sine of the given amplitude and period', () => {
    const values = run(new Simulator([flat({ waveform: 'sine', amplitude: 5, periodS: 40 })]), 40);
    assert.equal(values[0], 10);
    assert.ok(Math.abs(values[10] - 15) < 1e-9);
    assert.ok(Math.abs(values[30] - 5) < 1e-9);
  });

  it('adds noise with the configured standard deviation', () => {
    const values = run(new Simulator([flat({ noise: 2 })], [], 3), 20_000);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    assert.ok(Math.abs(mean - 10) < 0.1, `mean ${mean}`);
    assert.ok(Math.abs(sd - 2) < 0.1, `sd ${sd}`);
  });

  it('drifts linearly per hour', () => {
    const values = run(new Simulator([flat({ drift: 3.6 })]), 1000, 100);
    assert.ok(Math.abs(values[10] - 11) < 1e-9);
  });

  it('injects a one-sample spike, a step for its duration and a stuck value, on schedule', () => {
    const sim = new Simulator([flat({ waveform: 'sine', amplitude: 1, periodS: 17 })], [
      { channel: 'x', kind: 'spike', atS: 5, durationS: 0, magnitude: 100, everyS: 20 },
      { channel: 'x', kind: 'step', atS: 50, durationS: 3, magnitude: -50 },
      { channel: 'x', kind: 'stuck', atS: 70, durationS: 4, magnitude: 0 },
    ]);
    const v = run(sim, 80);
    const spikes = v.map((x, i) => (x > 50 ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(spikes, [5, 25, 45, 65]);
    const steps = v.map((x, i) => (x < -20 ? i : -1)).filter((i) => i >= 0);
    assert.deepEqual(steps, [50, 51, 52]);
    assert.equal(v[70], v[69]);
    assert.equal(v[73], v[69]);
    assert.notEqual(v[74], v[69]);
  });

  it('fires every one-sample spike of a channel, each on its own schedule', () => {
    const sim = new Simulator([flat()], [
      { channel: 'x', kind: 'spike', atS: 1, durationS: 0, magnitude: 10 },
      { channel: 'x', kind: 'spike', atS: 3, durationS: 0, magnitude: 20 },
    ]);
    assert.deepEqual(run(sim, 5).map((v) => v - 10), [0, 10, 0, 20, 0, 0]);
  });

  it('names each channel and anomaly problem by its message key', () => {
    assert.deepEqual(validateChannels([]), [{ key: 'noChannels' }]);
    const problems = validateChannels(
      [flat({ name: 'a', waveform: 'sine', periodS: 0 }), flat({ name: 'a', noise: -1, decimals: 200 }), { name: 'b', waveform: 'square' as never }],
      [{ channel: 'zz', kind: 'spike', atS: 0, durationS: 0, magnitude: 1 }],
    );
    const at = (n: number, name: string, key: string, vars: object = {}) => ({ key: 'inChannel', vars: { n, name, problem: { key, vars } } });
    assert.deepEqual(problems, [
      at(1, 'a', 'sinePeriod'),
      at(2, 'a', 'channelTwice'),
      at(2, 'a', 'noise'),
      at(2, 'a', 'decimals'),
      at(3, 'b', 'waveform', { waveforms: 'sine, random-walk, constant' }),
      ...['base', 'amplitude', 'noise', 'drift'].map((field) => at(3, 'b', 'channelNumber', { field })),
      { key: 'inAnomaly', vars: { n: 1, problem: { key: 'anomalyChannel', vars: { channel: 'zz' } } } },
    ]);
  });

  it('has a uniform PRNG and standard normal draws', () => {
    const r = seededRandom(1);
    const u = Array.from({ length: 50_000 }, r);
    assert.ok(u.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(u.reduce((s, x) => s + x, 0) / u.length - 0.5) < 0.01);
    const g = gaussian(seededRandom(2));
    const n = Array.from({ length: 50_000 }, g);
    const m = n.reduce((s, x) => s + x, 0) / n.length;
    assert.ok(Math.abs(m) < 0.02);
    assert.ok(Math.abs(n.reduce((s, x) => s + (x - m) ** 2, 0) / n.length - 1) < 0.03);
  });
});

import assert from 'node:assert/strict';
import { referenceOutput } from '../../../scripts/lib/model-zoo';
import { FEATURE_CHANNELS } from '../../../scripts/lib/pump-data';
import { PumpDevice } from '../../../scripts/lib/pump';
import { demoZoo } from '../../support/models';

/** The demo pump as the demo flow sees it: polled every 0.5 s, windows of 20 readings every 10 readings. */
function demoWindows(minutes: number): Array<{ startS: number; endS: number; features: number[] }> {
  const pump = new PumpDevice(7, 100);
  const t0 = Date.now();
  (pump as unknown as { startMs: number }).startMs = t0;
  const readings: Array<{ s: number; v: Record<string, number> }> = [];
  for (let k = 0; k < minutes * 600; k++) {
    const v = pump.update(t0 + k * 100);
    if (k % 5 === 0) readings.push({ s: k / 10, v });
  }
  const out = [];
  for (let i = 0; i + 20 <= readings.length; i += 10) {
    const w = readings.slice(i, i + 20);
    const features = FEATURE_CHANNELS.flatMap((c) => {
      const xs = w.map((r) => r.v[c]);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return [mean, Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length)];
    });
    out.push({ startS: w[0].s, endS: w[w.length - 1].s, features });
  }
  return out;
}

/** The demo pump's fault schedule (scripts/lib/pump.ts): bearing episodes, pressure spikes, a stuck speed sensor. */
function faultAt(s: number): string | undefined {
  const inEvery = (at: number, every: number, duration: number) => s >= at && (s - at) % every < duration;
  if (inEvery(120, 300, 45) || inEvery(130, 300, 60)) return 'bearing';
  if (inEvery(200, 420, 1)) return 'cavitation';
  if (inEvery(400, 660, 30)) return 'stuck-sensor';
  return undefined;
}

describe('core: the demo models on the demo pump', function () {
  this.timeout(60_000);

  it('training reports held-out figures that show the models are useful', () => {
    const byName = Object.fromEntries(demoZoo().models.map((m) => [m.name, m.manifest.metrics!]));
    assert.ok(byName['pump-classifier'].accuracy > 0.9, JSON.stringify(byName));
    assert.ok(byName['pump-linear'].accuracy > 0.9, JSON.stringify(byName));
    assert.ok(byName['pump-anomaly'].falseAlarmRate < 0.01 && byName['pump-anomaly'].detectionRate > 0.7, JSON.stringify(byName));
  });

  it('the anomaly model flags every bearing episode of the simulated pump and stays quiet in normal operation', () => {
    const m = demoZoo().models.find((x) => x.name === 'pump-anomaly')!;
    const windows = demoWindows(40);
    let normal = 0;
    let falseAlarms = 0;
    const caught = new Map<number, boolean>();
    for (const w of windows) {
      const flagged = referenceOutput(m, w.features)[0] > m.manifest.threshold!;
      const faults = new Set<string>();
      for (let s = w.startS; s <= w.endS; s += 0.5) {
        const f = faultAt(s);
        if (f) faults.add(f);
      }
      if (faults.size === 0) {
        normal++;
        falseAlarms += flagged ? 1 : 0;
      }
      if (faults.has('bearing')) {
        const episode = Math.floor((w.startS - 120) / 300);
        caught.set(episode, (caught.get(episode) ?? false) || flagged);
      }
    }
    assert.ok(normal > 200, `${normal} normal windows`);
    assert.ok(falseAlarms / normal <= 0.02, `${falseAlarms} false alarms in ${normal} normal windows`);
    assert.ok(caught.size >= 7, `${caught.size} bearing episodes`);
    assert.deepEqual([...caught.values()].filter((c) => !c), [], 'every bearing episode is flagged');
  });
});

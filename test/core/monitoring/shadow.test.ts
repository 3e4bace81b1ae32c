import assert from 'node:assert/strict';
import { compareResults, DEFAULT_SHADOW, gateFor, shadowGateProblems, ShadowTally } from '../../../nodes/core/monitoring/shadow-gate';

const obs = (samples: number, agreed: number, activeFlags: number, candidateFlags: number, activeMs = 1, candidateMs = 1) =>
  ({ samples, agreed, activeFlags, candidateFlags, activeMs, candidateMs });

describe('core: the shadow gate', () => {
  it('compares decisions: anomaly verdicts, classes, the top class, raw values within 1 %', () => {
    const a = (anomaly: boolean, score = 0) => ({ score, anomaly, threshold: 1 });
    assert.deepEqual(compareResults(a(true, 3), a(true, 9), 'anomaly', false), { samples: 1, agreed: 1, activeFlags: 1, candidateFlags: 1 });
    assert.deepEqual(compareResults([a(false), a(true), a(false)], [a(false), a(false), a(true)], 'anomaly', true),
      { samples: 3, agreed: 1, activeFlags: 1, candidateFlags: 1 });
    const c = (index: number) => ({ label: `c${index}`, index, score: 0.5 });
    assert.equal(compareResults(c(2), c(2), 'classify', false).agreed, 1);
    assert.equal(compareResults(c(2), c(1), 'classify', false).agreed, 0);
    assert.equal(compareResults([c(1), c(2)], [c(1), c(0)], 'topk', false).agreed, 1, 'top k: the top class decides');
    assert.equal(compareResults([[1, 200], [3, 4]], [[1.005, 201], [3, 4]], 'raw', false).agreed, 1);
    assert.equal(compareResults({ a: [1], b: [2] }, { b: [2], a: [1.02] }, 'raw', false).agreed, 0, '2 % off');
    assert.equal(compareResults([0], [0.0009], 'raw', false).agreed, 1, 'near zero: within 0.001');
    assert.equal(compareResults([1, 2], [1], 'raw', false).agreed, 0, 'another shape');
  });

  it('passes a candidate that decides alike, and names every limit a bad one misses, with the figures', () => {
    const gate = { ...DEFAULT_SHADOW, samples: 100 };
    const good = new ShadowTally(gate, 0);
    good.add(obs(60, 59, 6, 6, 3, 4));
    assert.equal(good.complete(1000), false);
    good.add(obs(40, 40, 2, 3, 2, 3));
    assert.equal(good.complete(1000), true, '100 samples');
    assert.deepEqual(good.figures(90_000), { samples: 100, agreement: 0.99, activeAnomalyRate: 0.08, candidateAnomalyRate: 0.09, latencyFactor: 1.417, failures: 0, minutes: 1.5 });
    assert.deepEqual(good.verdict(90_000), { pass: true, reasons: [] });

    const bad = new ShadowTally(gate, 0);
    bad.add(obs(100, 80, 5, 25, 10, 35));
    const v = bad.verdict(1);
    assert.equal(v.pass, false);
    assert.deepEqual(v.reasons, [
      'agreement 80 % is below 95 % over 100 samples',
      'anomaly rate 25 % against 5 %: more than 5 % apart',
      '3.5x the active version\'s time per run, above 2x',
    ]);
    // the time is the median over runs: a cold first run does not count against a candidate as a sum would
    const cold = new ShadowTally(gate, 0);
    cold.add(obs(1, 1, 0, 0, 1, 40));
    for (let i = 0; i < 4; i++) cold.add(obs(1, 1, 0, 0, 2, 2.2));
    assert.equal(cold.figures(0).latencyFactor, 1.1);
    // a failed run ends the shadow at once
    const failing = new ShadowTally(gate, 0);
    failing.add(obs(10, 10, 0, 0));
    failing.add({ ...obs(0, 0, 0, 0), failed: 'it answered NaN or infinity' });
    assert.equal(failing.complete(1), true);
    assert.deepEqual(failing.verdict(1).reasons, ['the candidate failed 1 run(s): it answered NaN or infinity']);
    // by time: nothing compared is no pass
    const idle = new ShadowTally({ ...gate, samples: 0, minutes: 2 }, 0);
    assert.equal(idle.complete(119_999), false);
    assert.equal(idle.complete(120_000), true);
    assert.deepEqual(idle.verdict(120_000).reasons, ['no live input was compared']);
  });

  it('takes the manifest\'s gate over the node\'s over the defaults, and checks both by the same rules', () => {
    assert.equal(gateFor(undefined, undefined), undefined, 'no shadow unless one asks');
    assert.deepEqual(gateFor({ samples: 50 }, undefined), { ...DEFAULT_SHADOW, samples: 50 });
    assert.deepEqual(gateFor({ agreement: 0.99 }, { ...DEFAULT_SHADOW, samples: 10, agreement: 0.5 }), { ...DEFAULT_SHADOW, samples: 10, agreement: 0.99 });
    assert.deepEqual(shadowGateProblems({ samples: 1.5, minutes: -1, agreement: 2, anomalyRateChange: Number.NaN, latencyFactor: 0.5 }),
      ['samples', 'minutes', 'agreement', 'anomalyRateChange', 'latencyFactor']);
    assert.deepEqual(shadowGateProblems({ samples: 0, minutes: 0 }), ['samples'], 'a gate that could never end');
    assert.deepEqual(shadowGateProblems({ agreement: '0.9' as unknown as number }), ['agreement'], 'numbers, not text');
    assert.deepEqual(shadowGateProblems(DEFAULT_SHADOW), []);
  });
});

import assert from 'node:assert/strict';
import { DEFAULT_SHADOW } from '../../../nodes/core/monitoring/shadow-gate';
import { logWords, statusBadge, statusWords } from '../../../nodes/core/updates/update-report';
import type { UpdateReport } from '../../../nodes/core/updates/model-updater';

const figures = { samples: 0, agreement: 0, activeAnomalyRate: 0, candidateAnomalyRate: 0, latencyFactor: 1, failures: 0, minutes: 0 };

describe('core: how an update report is shown', () => {
  it('says a shadow\'s progress, a held rollout and a refusal in the status, with the badge of each', () => {
    const shadow: UpdateReport = { model: 'm', version: '2', state: 'shadow', shadow: { ...figures, samples: 120, gate: DEFAULT_SHADOW } };
    assert.deepEqual(statusWords(shadow), { key: 'status.shadow', vars: { version: '2', samples: 120, of: 500 } });
    assert.deepEqual(statusWords({ ...shadow, shadow: { ...figures, gate: { ...DEFAULT_SHADOW, samples: 0, minutes: 5 } } }).vars.of, '-', 'minutes only');
    assert.equal(statusWords({ model: 'm', version: '2', state: 'held', code: 'rollout' }).key, 'status.outside');
    assert.equal(statusWords({ model: 'm', version: '2', state: 'held' }).key, 'status.held');
    assert.deepEqual(statusBadge({ model: 'm', state: 'rejected' }), { fill: 'red', shape: 'ring' });
    assert.deepEqual(statusBadge(shadow), { fill: 'yellow', shape: 'dot' });
  });

  it('logs a refusal as a warning, a shadow\'s start with what ends it, and its pass with the figures; nothing else', () => {
    assert.deepEqual(logWords({ model: 'm', version: '3', state: 'rejected', reason: 'shadow gate: x' }, '2'),
      { level: 'warn', words: { key: 'log.rejected', vars: { model: 'm', version: '3', reason: 'shadow gate: x' } } });
    const start = (gate: object): UpdateReport => ({ model: 'm', version: '3', state: 'shadow', shadow: { ...figures, gate: { ...DEFAULT_SHADOW, ...gate } } });
    assert.equal(logWords(start({}), '2')!.words.key, 'log.shadowSamples');
    assert.equal(logWords(start({ samples: 0, minutes: 5 }), '2')!.words.key, 'log.shadowMinutes');
    assert.equal(logWords(start({ minutes: 5 }), '2')!.words.key, 'log.shadowEither');
    assert.equal(logWords(start({}), '2')!.words.vars.active, '2');
    assert.equal(logWords({ ...start({}), shadow: { ...figures, samples: 50, gate: DEFAULT_SHADOW } }, '2'), undefined, 'progress is not logged');
    const passed = logWords({ model: 'm', version: '3', state: 'active', shadow: { ...figures, samples: 500, agreement: 0.9876, activeAnomalyRate: 0.02, candidateAnomalyRate: 0.031, latencyFactor: 1.2, gate: DEFAULT_SHADOW } }, '3');
    assert.deepEqual(passed, { level: 'log', words: { key: 'log.shadowPassed', vars: { model: 'm', version: '3', agreement: 98.8, samples: 500, candidateRate: 3.1, activeRate: 2, latency: 1.2 } } });
    assert.equal(logWords({ model: 'm', version: '3', state: 'active' }, '3'), undefined, 'an activation without a shadow is not logged');
  });
});

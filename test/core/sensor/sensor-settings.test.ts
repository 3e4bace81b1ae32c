import assert from 'node:assert/strict';
import { MAX_INTERVAL_S, normalizePoints, outputSettings, pollIntervalMs, simulatorRows } from '../../../nodes/core/sensor/sensor-settings';

describe('core: sensor settings', () => {
  it('poll intervals from 0.01 s to the longest a timer holds, in whole ms', () => {
    assert.deepEqual(['1', '0.25', 0.01, String(MAX_INTERVAL_S)].map(pollIntervalMs), [1000, 250, 10, MAX_INTERVAL_S * 1000]);
    assert.deepEqual(['', 'fast', '0.001', String(MAX_INTERVAL_S + 1), '-1', 'Infinity'].map(pollIntervalMs), [undefined, undefined, undefined, undefined, undefined, undefined]);
  });

  it('an object per poll and bad quality for failures unless the user asked otherwise', () => {
    assert.deepEqual(outputSettings({}), { mode: 'object', onFailure: 'quality' });
    assert.deepEqual(outputSettings({ outputMode: 'each', onFailure: 'error' }), { mode: 'each', onFailure: 'error' });
  });

  it('register map rows: numbers from strings, nothing for blank optional cells, NaN for what is not a number', () => {
    assert.deepEqual(normalizePoints([{ name: ' t ', area: 'holding', address: '2' as never, type: 'float32', scale: '' as never, bit: '3' as never, unitId: 'x' as never }]), [
      { name: 't', area: 'holding', address: 2, type: 'float32', bit: 3, unitId: NaN },
    ]);
    assert.deepEqual(normalizePoints(undefined), []);
  });

  it('simulator rows: blanks take the defaults', () => {
    const { channels, anomalies } = simulatorRows([{ name: 'v', waveform: 'sine', base: '2' as never, periodS: '' as never }], [{ channel: 'v', kind: 'spike', atS: '5' as never }]);
    assert.deepEqual(channels[0], { name: 'v', waveform: 'sine', base: 2, amplitude: 0, periodS: 60, noise: 0, drift: 0, decimals: 3 });
    assert.deepEqual(anomalies[0], { channel: 'v', kind: 'spike', atS: 5, durationS: 0, magnitude: 0, everyS: 0 });
  });
});

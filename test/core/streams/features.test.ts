import assert from 'node:assert/strict';
import { featureVector, resample } from '../../../nodes/core/streams/features';
import { StreamWindows, WindowOptions } from '../../../nodes/core/streams/windowing';

const opts = (o: Partial<WindowOptions>): WindowOptions => ({
  kind: 'count', size: 4, align: 'clock', time: 'event', lateness: 0, statistics: ['mean', 'max'], maxSamples: 1000, samples: true, ...o,
});

describe('core: feature vectors', () => {
  const w = new StreamWindows(opts({}));
  const samples = [{ v: 1, t: 10 }, { v: 3, t: 20 }, { v: 5, t: 30 }, { v: 7, t: 40 }];
  const [result] = samples.flatMap((s, i) => w.add(s, i * 1000).results);

  it('lays out statistics per channel, channel-major or feature-major, with names', () => {
    assert.deepEqual(featureVector(result, ['mean', 'max'], { source: 'stats', points: 0, layout: 'channel-major' }), {
      vector: [4, 7, 25, 40], names: ['v.mean', 'v.max', 't.mean', 't.max'],
    });
    assert.deepEqual(featureVector(result, ['mean', 'max'], { source: 'stats', points: 0, layout: 'feature-major', channels: ['t', 'v'] }), {
      vector: [25, 4, 40, 7], names: ['t.mean', 'v.mean', 't.max', 'v.max'],
    });
  });

  it('gives raw samples and resampled points', () => {
    assert.deepEqual(featureVector(result, [], { source: 'raw', points: 3, layout: 'channel-major', channels: ['v'] }).vector, [3, 5, 7]);
    assert.deepEqual(featureVector(result, [], { source: 'resample', points: 7, layout: 'channel-major', channels: ['v'] }).vector, [1, 2, 3, 4, 5, 6, 7]);
    assert.throws(() => featureVector(result, [], { source: 'raw', points: 5, layout: 'channel-major' }), /channel "v" has 4 sample\(s\); the feature vector needs 5/);
  });

  it('refuses undefined features rather than sending NaN to a model', () => {
    const one = new StreamWindows(opts({ kind: 'count', size: 1, statistics: ['slope'] })).add(5, 0).results[0];
    assert.throws(() => featureVector(one, ['slope'], { source: 'stats', points: 0, layout: 'channel-major' }), /feature slope is undefined for this window \(1 sample\(s\)\)/);
  });

  it('resamples unevenly spaced samples by linear interpolation', () => {
    assert.deepEqual(resample([0, 1, 4], [0, 10, 40], 5), [0, 10, 20, 30, 40]);
    assert.deepEqual(resample([5], [2], 3), [2, 2, 2]);
    assert.deepEqual(resample([], [], 3), []);
  });
});

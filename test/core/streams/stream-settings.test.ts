/** edge-filter's and edge-aggregate's settings: from the editor's strings to options, problems as message keys. */
import assert from 'node:assert/strict';
import { filterSettings } from '../../../nodes/core/streams/filter-settings';
import { aggregateSettings } from '../../../nodes/core/streams/aggregate-settings';

describe('core: filter and aggregate settings', () => {
  it('filter: defaults that pass numbers through, and every bad field named', () => {
    const d = filterSettings({});
    assert.deepEqual([d.property, d.key, d.maxStreams, d.reportSuppressed, d.problems], ['payload', 'topic', 1000, false, []]);
    assert.deepEqual([d.filter.quality, d.filter.rangeAction, d.filter.outlier, d.filter.deadband, d.filter.rate], ['good-uncertain', 'drop', 'none', 'none', 'none']);
    const bad = filterSettings({ min: '5', max: '1', outlier: 'mad', outlierWindow: '2', heartbeat: '-1', property: 'payload..x', key: 'a.__proto__', maxStreams: '0' });
    assert.deepEqual(bad.problems.map((p) => p.key), ['minAboveMax', 'outlierWindow', 'heartbeat', 'path', 'path', 'maxStreams']);
    assert.match(String(bad.problems[4].vars?.problem), /may not use "__proto__"/);
    assert.deepEqual(filterSettings({ min: 'abc' }).problems.map((p) => p.key), ['min']);
    assert.equal(filterSettings({ quality: 'bogus', rate: 'average', rateInterval: '0.5' }).filter.quality, 'good-uncertain');
    assert.equal(filterSettings({ rate: 'average', rateInterval: '0.5' }).filter.rateMs, 500);
  });

  it('aggregate: a 10 s tumbling window of count, mean, min, max by default; features and bounds checked', () => {
    const d = aggregateSettings({});
    assert.deepEqual([d.windows.kind, d.windows.size, d.windows.statistics, d.windows.maxFields, d.key, d.partial, d.problems],
      ['tumbling', 10_000, ['count', 'mean', 'min', 'max'], 1000, 'topic', 'flush', []]);
    assert.deepEqual(aggregateSettings({ window: 'count', size: '10', time: 'event' }).windows.time, 'processing', 'count windows need no clock');
    const bad = aggregateSettings({ window: 'hopping', size: '10', hop: '0', statistics: 'mean,avg', output: 'features', featureSource: 'raw', points: '0', precision: '20' });
    assert.deepEqual(bad.problems.map((p) => p.key), ['hop', 'statistic', 'points', 'precision']);
    assert.equal(bad.problems[1].vars?.name, 'avg');
    assert.deepEqual(aggregateSettings({ window: 'weekly' }).problems, [{ key: 'windowKind' }]);
    const f = aggregateSettings({ output: 'features', featureSource: 'resample', points: '16', layout: 'feature-major', channels: 'a, b' });
    assert.deepEqual([f.features?.source, f.features?.points, f.features?.layout, f.features?.channels, f.windows.samples], ['resample', 16, 'feature-major', ['a', 'b'], true]);
  });
});

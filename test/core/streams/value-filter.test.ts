import assert from 'node:assert/strict';
import { FilterOptions, StreamFilter } from '../../../nodes/core/streams/filter';
import { filterValue } from '../../../nodes/core/streams/value-filter';

const base: FilterOptions = {
  quality: 'good-uncertain', rangeAction: 'drop', outlier: 'none', outlierWindow: 30, outlierThreshold: 4, stepAfter: 3,
  deadband: 'none', deadbandValue: 0, deadbandCompare: 'sent', heartbeatMs: 0, rate: 'none', rateMs: 1000,
};

function filters(o: Partial<FilterOptions> = {}) {
  const table = new Map<string, StreamFilter>();
  const filterFor = (field: string | undefined) => {
    const key = field ?? '';
    if (!table.has(key)) table.set(key, new StreamFilter({ ...base, ...o }));
    return table.get(key)!;
  };
  return { table, filterFor };
}

describe('core: the filter on what the other nodes send', () => {
  it('a number is one stream', () => {
    const { filterFor } = filters();
    const out = filterValue(61.5, undefined, 0, filterFor);
    assert.deepEqual(out, { kind: 'single', decision: { action: 'pass', value: 61.5, quality: undefined } });
  });

  it("edge-sensor's object of channels: each field its own stream, text rides along, a bad field alone is rejected", () => {
    const { table, filterFor } = filters({ min: 0, max: 100 });
    const out = filterValue({ temperature: 61.5, pressure: 250, label: 'pump 7' }, 'good', 0, filterFor);
    assert.equal(out.kind, 'fields');
    if (out.kind !== 'fields') return;
    assert.deepEqual(out.passed, { temperature: 61.5, label: 'pump 7' });
    assert.deepEqual(out.sent, ['temperature']);
    assert.deepEqual(out.rejected, [{ field: 'pressure', reason: 'range', detail: '250 is outside 0 to 100' }]);
    assert.deepEqual([...table.keys()], ['temperature', 'pressure']);
  });

  it("edge-aggregate's statistics: judged by their mean, passed on whole; a deadband holds each field back on its own", () => {
    const { filterFor } = filters({ deadband: 'absolute', deadbandValue: 1 });
    const first = filterValue({ temperature: { count: 10, mean: 60, max: 61 }, pressure: { count: 10, mean: 2, max: 2.1 } }, undefined, 0, filterFor);
    assert.ok(first.kind === 'fields');
    assert.deepEqual(first.passed, { temperature: { count: 10, mean: 60, max: 61 }, pressure: { count: 10, mean: 2, max: 2.1 } });
    const second = filterValue({ temperature: { count: 10, mean: 60.5, max: 61 }, pressure: { count: 10, mean: 3.5, max: 4 } }, undefined, 1000, filterFor);
    assert.ok(second.kind === 'fields');
    assert.deepEqual(second.passed, { pressure: { count: 10, mean: 3.5, max: 4 } });
    assert.deepEqual(second.rejected.map((r) => [r.field, r.reason]), [['temperature', 'deadband']]);
    const none = filterValue({ temperature: { count: 10, mean: 60.2 } }, undefined, 2000, filterFor);
    assert.ok(none.kind === 'fields');
    assert.equal(none.passed, undefined, 'nothing passed: nothing to send');
  });

  it('clamping writes the clamped mean into a copy of the statistics', () => {
    const stats = { count: 4, mean: 120, max: 130 };
    const out = filterValue({ level: stats }, undefined, 0, filters({ max: 100, rangeAction: 'clamp' }).filterFor);
    assert.ok(out.kind === 'fields');
    assert.deepEqual(out.passed, { level: { count: 4, mean: 100, max: 130 } });
    assert.equal(stats.mean, 120, 'the input is not changed');
  });

  it('an object with no value in it, text and nothing are rejected as not numeric, in words', () => {
    for (const v of [{ label: 'x' }, 'abc', undefined]) {
      const out = filterValue(v, undefined, 0, filters().filterFor);
      assert.ok(out.kind === 'single' && out.decision.action === 'reject' && out.decision.reason === 'not-numeric', String(v));
    }
  });
});

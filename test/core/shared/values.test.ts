import assert from 'node:assert/strict';
import { numberOf, significant, soleNumber, valueFields, valuePaths } from '../../../nodes/core/shared/values';

describe('core: values as every node reads them', () => {
  it('a number is itself; statistics stand for their mean; anything else is no value', () => {
    assert.equal(numberOf(4.5), 4.5);
    assert.equal(numberOf({ count: 10, mean: 61.2, min: 60, max: 63 }), 61.2);
    for (const v of [NaN, Infinity, '4', null, undefined, true, { mean: 'x' }, { mean: NaN }, [1], Buffer.from('1')]) assert.equal(numberOf(v), undefined, String(v));
  });

  it('an object of named values has its value fields, statistics among them, text and other objects not', () => {
    assert.deepEqual(valueFields({ temperature: 60, pressure: { count: 3, mean: 2.1 }, label: 'pump', nested: { a: 1 } }), ['temperature', 'pressure']);
    assert.deepEqual(valueFields({ count: 3, mean: 2 }), [], 'statistics are one value, not fields');
    assert.deepEqual(valueFields(5), []);
  });

  it('a rule on a whole payload reads the one value it holds, and names the candidates when there are several', () => {
    assert.deepEqual(soleNumber(85), { value: 85 });
    assert.deepEqual(soleNumber({ temperature: { count: 10, mean: 85.5, max: 87 } }), { value: 85.5 });
    assert.deepEqual(soleNumber({ temperature: 85, label: 'x' }), { value: 85 });
    assert.deepEqual(soleNumber({ temperature: 85, pressure: 2 }), { fields: ['temperature', 'pressure'] });
    assert.deepEqual(soleNumber('85'), {});
  });

  it('lists the value paths of a message for the editor: numbers, booleans and statistics, bounded', () => {
    const msg = { topic: 't', payload: { temperature: { count: 10, mean: 61, max: 63 }, anomaly: false, 'odd name': 1, text: 'x' }, inference: { score: 0.2 } };
    assert.deepEqual(valuePaths(msg, ['payload', 'inference']), [
      'payload.temperature', 'payload.temperature.count', 'payload.temperature.mean', 'payload.temperature.max', 'payload.anomaly',
      'payload["odd name"]', 'inference.score',
    ]);
    assert.deepEqual(valuePaths({ payload: 85 }), ['payload']);
    const wide = { payload: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, i])) };
    assert.equal(valuePaths(wide).length, 50);
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    assert.deepEqual(valuePaths({ payload: loop }), ['payload.a']);
    assert.deepEqual(valuePaths(undefined), []);
  });

  it('rounds to significant digits exactly as toPrecision does, halves and powers of ten included', () => {
    const cases: number[] = [0, -0, 1, -1, 2.5, -2.5, 0.5, 1.005, 0.285, 999.95, 9.9999, 99999.5, 1e-30, -4.2e30, 123456789012, Number.MIN_VALUE, Number.MAX_VALUE];
    for (let e = -12; e <= 12; e++) {
      const p = 10 ** e;
      cases.push(p, p * (1 + Number.EPSILON), p * (1 - Number.EPSILON / 2), 2.5 * p, -7.45 * p, 1.25 * p);
    }
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 20_000; i++) cases.push((random() - 0.5) * 10 ** (random() * 24 - 12));
    let compared = 0;
    for (const x of cases) {
      for (let digits = 1; digits <= 17; digits++) {
        assert.equal(significant(x, digits), Number(x.toPrecision(digits)), `${x} to ${digits} digits`);
        compared++;
      }
    }
    assert.equal(compared, cases.length * 17);
    assert.ok(Number.isNaN(significant(NaN, 3)));
    assert.equal(significant(Infinity, 3), Infinity);
  });
});

import assert from 'node:assert/strict';
import {
  decodePoint, encodePoint, planReads, decodeBlock, validateRegisterMap, pointWidth,
  PointDefinition, ORDERS, ModbusDataType,
} from '../../../nodes/core/sensor/modbus-registers';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

const point = (p: Partial<PointDefinition>): PointDefinition =>
  ({ name: 'p', area: 'holding', address: 0, type: 'uint16', ...p }) as PointDefinition;

describe('core: Modbus register decoding', () => {
  it('decodes float32 1.0 in each byte/word order', () => {
    assert.equal(decodePoint([0x3f80, 0x0000], point({ type: 'float32', order: 'ABCD' })), 1);
    assert.equal(decodePoint([0x0000, 0x3f80], point({ type: 'float32', order: 'CDAB' })), 1);
    assert.equal(decodePoint([0x803f, 0x0000], point({ type: 'float32', order: 'BADC' })), 1);
    assert.equal(decodePoint([0x0000, 0x803f], point({ type: 'float32', order: 'DCBA' })), 1);
  });

  it('decodes signed and unsigned integers at their limits', () => {
    assert.equal(decodePoint([0xfffe], point({ type: 'int16' })), -2);
    assert.equal(decodePoint([0xfffe], point({ type: 'uint16' })), 65534);
    assert.equal(decodePoint([0x8000, 0x0000], point({ type: 'int32' })), -2147483648);
    assert.equal(decodePoint([0xffff, 0xffff], point({ type: 'uint32' })), 4294967295);
    assert.equal(decodePoint([0x0001, 0x0002], point({ type: 'uint32', order: 'CDAB' })), 0x00020001);
    assert.equal(decodePoint([0x4009, 0x21fb, 0x5444, 0x2d18], point({ type: 'float64' })), Math.PI);
  });

  it('applies scale and offset without binary noise', () => {
    assert.equal(decodePoint([625], point({ type: 'int16', scale: 0.1 })), 62.5);
    assert.equal(decodePoint([3], point({ type: 'int16', scale: 0.1 })), 0.3);
    assert.equal(decodePoint([100], point({ type: 'uint16', scale: 0.5, offset: -20 })), 30);
  });

  it('reads bools from a whole register or from one bit', () => {
    assert.equal(decodePoint([0], point({ type: 'bool' })), false);
    assert.equal(decodePoint([4], point({ type: 'bool' })), true);
    assert.equal(decodePoint([0b100], point({ type: 'bool', bit: 2 })), true);
    assert.equal(decodePoint([0b100], point({ type: 'bool', bit: 1 })), false);
  });

  it('reads strings two characters per register, up to the first NUL, and trims the padding', () => {
    assert.equal(decodePoint([0x5055, 0x4d50, 0x2d37, 0x0000], point({ type: 'string', length: 4 })), 'PUMP-7');
    assert.equal(decodePoint([0x5550, 0x504d], point({ type: 'string', length: 2, order: 'BADC' })), 'PUMP');
    assert.equal(decodePoint([0x4142, 0x0000, 0x5859], point({ type: 'string', length: 3 })), 'AB');
    assert.equal(decodePoint([0x4142, 0x2020], point({ type: 'string', length: 2 })), 'AB');
    // word order does not reverse text; only the byte swap applies
    assert.equal(decodePoint([0x4142, 0x4344], point({ type: 'string', length: 2, order: 'CDAB' })), 'ABCD');
    assert.equal(decodePoint([0x4241, 0x4443], point({ type: 'string', length: 2, order: 'DCBA' })), 'ABCD');
  });

  it('keeps the resolution of large scaled counters', () => {
    assert.equal(decodePoint([0x0756, 0xb5b3], point({ type: 'uint32', scale: 0.001 })), 123123.123);
    assert.equal(decodePoint([0x419d, 0x6f34, 0x547e, 0x6b83], point({ type: 'float64', offset: 0.001 })), 123456789.124457);
  });

  it('round-trips random values of every type in every order (2,000 cases each)', () => {
    const random = seededRandom(42);
    const ranges: Record<Exclude<ModbusDataType, 'bool' | 'string'>, [number, number]> = {
      int16: [-32768, 32767], uint16: [0, 65535], int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
      float32: [-1e6, 1e6], float64: [-1e12, 1e12],
    };
    for (const [type, [lo, hi]] of Object.entries(ranges) as Array<[ModbusDataType, [number, number]]>) {
      for (const order of ORDERS) {
        for (let i = 0; i < 2000; i++) {
          const isFloat = type.startsWith('float');
          let v = lo + random() * (hi - lo);
          if (!isFloat) v = Math.round(v);
          if (type === 'float32') v = Math.fround(v);
          const p = point({ type, order });
          const words = encodePoint(v, p);
          assert.equal(words.length, pointWidth(p));
          assert.ok(words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff));
          assert.equal(decodePoint(words, p), v, `${type} ${order} ${v}`);
        }
      }
    }
  });

  it('round-trips scaled values and strings', () => {
    const p = point({ type: 'int16', scale: 0.01, offset: 5 });
    for (let raw = -32768; raw <= 32767; raw += 97) {
      const value = decodePoint([raw & 0xffff], p) as number;
      assert.deepEqual(encodePoint(value, p), [raw & 0xffff]);
    }
    for (const order of ORDERS) {
      const s = point({ type: 'string', length: 5, order });
      assert.equal(decodePoint(encodePoint('Edge-9', s), s), 'Edge-9');
    }
  });

  it('saturates integers that do not fit instead of wrapping', () => {
    assert.deepEqual(encodePoint(70000, point({ type: 'uint16' })), [65535]);
    assert.deepEqual(encodePoint(-5, point({ type: 'uint16' })), [0]);
  });
});

describe('core: register map validation', () => {
  it('accepts a valid map', () => {
    assert.deepEqual(validateRegisterMap([point({ name: 'a' }), point({ name: 'b', area: 'coil', type: 'bool' })]), []);
  });

  it('names each problem by its message key, with the point it is in', () => {
    const problems = validateRegisterMap([
      { name: '', area: 'holding', address: 0, type: 'int16' },
      { name: 'x', area: 'coil', address: 1, type: 'float32' },
      { name: 'y', area: 'holding', address: 70000, type: 'int16' },
      { name: 's', area: 'holding', address: 0, type: 'string' },
      { name: 'y', area: 'holding', address: 1, type: 'int16', bit: 16 },
      { name: 'z', area: 'holding', address: 65535, type: 'float32' },
    ]);
    const at = (n: number, name: string, key: string, vars: object = {}) => ({ key: 'inPoint', vars: { n, name, problem: { key, vars } } });
    assert.deepEqual(problems, [
      { key: 'inPointN', vars: { n: 1, problem: { key: 'pointName', vars: {} } } },
      at(2, 'x', 'pointBits', { area: 'coil' }),
      at(3, 'y', 'pointAddress'),
      at(4, 's', 'pointLength', { max: 125 }),
      at(5, 'y', 'pointBit'),
      at(6, 'z', 'pointPastEnd'),
      { key: 'pointTwice', vars: { name: 'y' } },
    ]);
    assert.deepEqual(validateRegisterMap([]), [{ key: 'noPoints' }]);
  });
});

describe('core: request planning', () => {
  const map: PointDefinition[] = [
    point({ name: 'a', address: 0, type: 'float32' }),
    point({ name: 'b', address: 2, type: 'float32' }),
    point({ name: 'c', address: 4, type: 'int16' }),
    point({ name: 'd', address: 10, type: 'int16' }),
    point({ name: 'e', area: 'input', address: 0, type: 'int16' }),
    point({ name: 'f', area: 'coil', address: 3, type: 'bool' }),
    point({ name: 'g', area: 'coil', address: 4, type: 'bool' }),
    point({ name: 'h', address: 0, type: 'int16', unitId: 2 }),
  ];

  it('reads contiguous points of one unit and area in one request', () => {
    const blocks = planReads(map, { defaultUnitId: 1 });
    const summary = blocks.map((b) => `${b.unitId}:${b.area}@${b.address}+${b.count}[${b.points.map((p) => p.name).join('')}]`);
    assert.deepEqual(summary.sort(), [
      '1:coil@3+2[fg]', '1:holding@0+5[abc]', '1:holding@10+1[d]', '1:input@0+1[e]', '2:holding@0+1[h]',
    ]);
  });

  it('bridges gaps up to maxGap registers', () => {
    const blocks = planReads(map.slice(0, 4), { defaultUnitId: 1, maxGap: 5 });
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].count, 11);
    assert.equal(planReads(map.slice(0, 4), { defaultUnitId: 1, maxGap: 4 }).length, 2);
  });

  it('splits at the protocol limit of 125 registers', () => {
    const many = Array.from({ length: 100 }, (_, i) => point({ name: `p${i}`, address: i * 2, type: 'float32' }));
    const blocks = planReads(many, { defaultUnitId: 1 });
    assert.deepEqual(blocks.map((b) => b.count), [124, 76]);
    assert.ok(blocks.every((b) => b.count <= 125));
  });

  it('handles overlapping points (a register read as two types)', () => {
    const blocks = planReads([point({ name: 'w', address: 0, type: 'uint32' }), point({ name: 'lo', address: 1 })], { defaultUnitId: 1 });
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0].count, 2);
    const values = decodeBlock(blocks[0], [0x0001, 0x0002]);
    assert.equal(values.get('w'), 0x00010002);
    assert.equal(values.get('lo'), 2);
  });

  it('never plans fewer requests than needed nor a block that misses a point (random maps)', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 300; round++) {
      const points: PointDefinition[] = [];
      for (let i = 0; i < 1 + Math.floor(random() * 30); i++) {
        const types: ModbusDataType[] = ['int16', 'float32', 'float64', 'uint32'];
        points.push(point({ name: `p${i}`, address: Math.floor(random() * 400), type: types[Math.floor(random() * 4)] }));
      }
      const maxGap = Math.floor(random() * 4);
      const blocks = planReads(points, { defaultUnitId: 1, maxGap });
      const covered = blocks.flatMap((b) => b.points.map((p) => {
        assert.ok(p.address >= b.address && p.address + pointWidth(p) <= b.address + b.count, 'point inside its block');
        return p.name;
      }));
      assert.deepEqual(covered.sort(), points.map((p) => p.name).sort());
      assert.ok(blocks.every((b) => b.count <= 125));
      const sorted = [...blocks].sort((x, y) => x.address - y.address);
      for (let i = 1; i < sorted.length; i++) {
        const gap = sorted[i].address - (sorted[i - 1].address + sorted[i - 1].count);
        const mergedSpan = sorted[i].address + sorted[i].count - sorted[i - 1].address;
        assert.ok(gap > maxGap || mergedSpan > 125, 'neighbouring blocks could not have been merged');
      }
    }
  });
});

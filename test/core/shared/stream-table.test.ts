import assert from 'node:assert/strict';
import { StreamTable, TouchedStreams } from '../../../nodes/core/shared/stream-table';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

describe('core: stream table', () => {
  it('creates a stream on first use, keeps at most max, and evicts the least recently used with its state', () => {
    const evicted: Array<[string, number]> = [];
    let made = 0;
    const table = new StreamTable<{ n: number }>(3, () => ({ n: made++ }), (key, s) => evicted.push([key, s.n]));
    for (const k of ['a', 'b', 'c']) table.get(k);
    table.get('a'); // a is now the most recent
    table.get('d'); // b goes
    assert.deepEqual(evicted, [['b', 1]]);
    assert.deepEqual(table.keys(), ['c', 'a', 'd']);
    assert.equal(table.peek('b'), undefined, 'peek creates nothing');
    assert.equal(table.get('a').n, 0, 'the same state comes back');
    assert.equal(table.size, 3);
    table.clear();
    assert.equal(table.size, 0);
  });

  it('never holds more than max under random use, and agrees with a reference LRU', () => {
    const random = seededRandom(11);
    const table = new StreamTable<string>(50, (k) => k);
    const order: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const key = `s${Math.floor(random() * 200)}`;
      table.get(key);
      const at = order.indexOf(key);
      if (at >= 0) order.splice(at, 1);
      else if (order.length === 50) order.shift();
      order.push(key);
      assert.ok(table.size <= 50);
    }
    assert.deepEqual(table.keys(), order);
  });

  it('agrees with the reference LRU when one stream is hot (runs of the same key) and streams are deleted', () => {
    const random = seededRandom(12);
    const table = new StreamTable<string>(8, (k) => k);
    const order: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const key = `s${Math.floor(random() * 12)}`;
      if (random() < 0.05) {
        table.delete(key);
        const at = order.indexOf(key);
        if (at >= 0) order.splice(at, 1);
        continue;
      }
      for (let run = Math.floor(random() * 4); run >= 0; run--) table.get(key);
      const at = order.indexOf(key);
      if (at >= 0) order.splice(at, 1);
      else if (order.length === 8) order.shift();
      order.push(key);
    }
    assert.deepEqual(table.keys(), order);
  });

  it('remembers the streams one message touched, by field, until the next message', () => {
    let made = 0;
    const table = new StreamTable<{ n: number }>(10, () => ({ n: made++ }));
    const touched = new TouchedStreams(table);
    const a = touched.get('pump/a', 'a');
    const whole = touched.get('pump', undefined);
    assert.equal(touched.find('a'), a);
    assert.equal(touched.find(undefined), whole);
    assert.equal(touched.find('b'), undefined);
    touched.reset();
    assert.equal(touched.find('a'), undefined, 'a new message has touched nothing');
    assert.equal(touched.get('pump/a', 'a'), a, 'the table keeps the stream');
    assert.equal(made, 2);
  });
});


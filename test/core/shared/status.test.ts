import assert from 'node:assert/strict';
import { connectionBadge, formatValue, shortText, StatusThrottle, StatusBadge } from '../../../nodes/core/shared/status';
import { delay } from '../../../scripts/lib/net-util';

describe('core: node status badges', () => {
  it('colours connection states the same way in every node', () => {
    const label = (s: string) => s;
    assert.deepEqual(connectionBadge('connected', label), { fill: 'green', shape: 'dot', text: 'connected' });
    assert.deepEqual(connectionBadge('connecting', label), { fill: 'yellow', shape: 'ring', text: 'connecting' });
    assert.deepEqual(connectionBadge('waiting', label), { fill: 'red', shape: 'ring', text: 'waiting' });
    assert.deepEqual(connectionBadge('closed', label), { fill: 'grey', shape: 'ring', text: 'closed' });
  });

  it('keeps status text short and values compact', () => {
    assert.equal(shortText('a'.repeat(40)), `${'a'.repeat(31)}…`);
    assert.equal(shortText('a'.repeat(32)), 'a'.repeat(32));
    assert.equal(shortText('short'), 'short');
    assert.equal(formatValue(61.23456), '61.23');
    assert.equal(formatValue(1480), '1480');
    assert.equal(formatValue([1, 2, 3]), '[3]');
    assert.equal(formatValue({ flow: 122.456, level: 2.5 }), 'flow 122.5 +1');
    assert.equal(formatValue({ t: 1 }), 't 1');
    assert.equal(formatValue({}), '{}');
  });

  it('throttles a fast stream of badges to one per interval and always shows the last', async () => {
    const shown: StatusBadge[] = [];
    let made = 0;
    const throttle = new StatusThrottle((b) => shown.push(b), 50);
    for (let i = 0; i < 1000; i++) throttle.set(() => { made++; return { text: String(i) }; });
    await delay(120);
    assert.deepEqual(shown.map((b) => b.text), ['0', '999']);
    assert.equal(made, 2, 'badges are made only when shown');
    // quiet for longer than the interval: the next badge shows at once
    throttle.set({ text: 'x' });
    throttle.set({ text: 'pending' });
    throttle.now({ text: 'error' });
    await delay(80);
    assert.deepEqual(shown.map((b) => b.text), ['0', '999', 'x', 'error'], 'now() shows at once and drops the pending badge');
    throttle.stop();
  });

  it('shows the first error badge at once and throttles a stream of them', async () => {
    const shown: StatusBadge[] = [];
    const throttle = new StatusThrottle((b) => shown.push(b), 50);
    for (let i = 0; i < 100; i++) throttle.alert({ text: `bad ${i}` });
    assert.deepEqual(shown.map((b) => b.text), ['bad 0']);
    await delay(80);
    assert.deepEqual(shown.map((b) => b.text), ['bad 0', 'bad 99']);
    throttle.stop();
  });
});

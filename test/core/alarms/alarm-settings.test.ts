import assert from 'node:assert/strict';
import { alarmSettings } from '../../../nodes/core/alarms/alarm-settings';

describe('core: alarm settings', () => {
  it('turns editor rows into alarms (blank limits are no limits, never 0) and names every problem', () => {
    const s = alarmSettings({ alarms: [{ id: ' hot ', path: 'payload.t', kind: 'high', limit: '80', deadband: '2', onDelay: '1.5', priority: '700', latching: 'true' }] });
    assert.deepEqual(s.problems, []);
    assert.deepEqual(
      [s.alarms[0].id, s.alarms[0].limit, s.alarms[0].onDelayMs, s.alarms[0].priority, s.alarms[0].latching, s.alarms[0].message],
      ['hot', 80, 1500, 700, true, '{{id}}: {{value}}'],
    );
    assert.deepEqual(s.options, { flood: { max: 10, windowMs: 600_000 }, chatter: { max: 5, windowMs: 60_000 } });
    assert.equal(s.persist, true);
    const blank = alarmSettings({ alarms: [{ id: 'x', kind: 'high', limit: '' }] });
    assert.deepEqual(blank.problems, [{ key: 'inAlarm', vars: { n: 1, id: 'x', problem: { key: 'limit', vars: { kinds: 'high, high-high, low, low-low, deviation, rate, flag, bad-quality, stale' } } } }]);
    assert.deepEqual(alarmSettings({}).problems, [{ key: 'noAlarms' }]);
    // a negative or unreadable limit would switch flood or chatter handling off without a word: refused, named
    assert.deepEqual(alarmSettings({ alarms: [{ id: 'x', kind: 'flag' }], floodMax: '-3', floodMinutes: '0', chatterMax: '2.5', chatterSeconds: '-1' }).problems,
      [{ key: 'floodMax' }, { key: 'floodMinutes' }, { key: 'chatterMax' }, { key: 'chatterSeconds' }]);
    assert.deepEqual(alarmSettings({ alarms: [{ id: 'x', kind: 'flag' }], chatterSeconds: 'abc' }).problems, [{ key: 'chatterSeconds' }]);
  });
});

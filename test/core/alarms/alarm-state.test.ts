import assert from 'node:assert/strict';
import { apply, stateOf, AlarmEvent, AlarmFacts, AlarmState, ALARM_STATES, NORMAL_FACTS } from '../../../nodes/core/alarms/alarm-state';
import { seededRandom } from '../../../nodes/core/sensor/simulator';

const NOW = 1_000_000;
const EVENTS: Record<string, AlarmEvent> = {
  activate: { type: 'activate' }, clear: { type: 'clear' }, ack: { type: 'ack' }, reset: { type: 'reset' },
  shelve: { type: 'shelve', until: NOW + 60_000 }, unshelve: { type: 'unshelve' }, suppress: { type: 'suppress' },
  unsuppress: { type: 'unsuppress' }, disable: { type: 'disable' }, enable: { type: 'enable' }, tick: { type: 'tick' },
};

/** The facts of each visible ISA state when it is reached plainly (in service, not hidden). */
const BASE: Record<string, AlarmFacts> = {
  normal: NORMAL_FACTS,
  unacknowledged: { ...NORMAL_FACTS, active: true, acked: false },
  acknowledged: { ...NORMAL_FACTS, active: true, acked: true },
  'rtn-unack': { ...NORMAL_FACTS, active: false, acked: false },
  latched: { ...NORMAL_FACTS, active: false, acked: false, latched: true },
};

/**
 * ISA-18.2 transitions of the visible states, written from the standard's state diagram: "-" means the event does
 * not apply (nothing changes). Latching is on for the latched row and for clear events of active alarms below.
 */
const TABLE: Record<string, Record<string, AlarmState | '-'>> = {
  normal:          { activate: 'unacknowledged', clear: '-', ack: '-', reset: '-', shelve: 'shelved', unshelve: '-', suppress: 'suppressed', unsuppress: '-', disable: 'out-of-service', enable: '-', tick: '-' },
  unacknowledged:  { activate: '-', clear: 'rtn-unack', ack: 'acknowledged', reset: '-', shelve: 'shelved', unshelve: '-', suppress: 'suppressed', unsuppress: '-', disable: 'out-of-service', enable: '-', tick: '-' },
  acknowledged:    { activate: '-', clear: 'normal', ack: '-', reset: '-', shelve: 'shelved', unshelve: '-', suppress: 'suppressed', unsuppress: '-', disable: 'out-of-service', enable: '-', tick: '-' },
  'rtn-unack':     { activate: 'unacknowledged', clear: '-', ack: 'normal', reset: '-', shelve: 'shelved', unshelve: '-', suppress: 'suppressed', unsuppress: '-', disable: 'out-of-service', enable: '-', tick: '-' },
  latched:         { activate: 'unacknowledged', clear: '-', ack: 'latched', reset: 'normal', shelve: 'shelved', unshelve: '-', suppress: 'suppressed', unsuppress: '-', disable: 'out-of-service', enable: '-', tick: '-' },
};

describe('core: alarm lifecycle (ISA-18.2)', () => {
  it('follows the transition table for every (visible state, event) pair', () => {
    for (const [from, row] of Object.entries(TABLE)) {
      for (const [name, expected] of Object.entries(row)) {
        const facts = BASE[from];
        assert.equal(stateOf(facts), from);
        const outcome = apply(facts, EVENTS[name], NOW, false);
        const to = stateOf(outcome.facts);
        if (expected === '-') {
          assert.equal(to, from, `${from} + ${name} changes nothing`);
          assert.equal(outcome.applied && JSON.stringify(outcome.facts) !== JSON.stringify(facts), false, `${from} + ${name} is a no-op`);
        } else {
          assert.equal(to, expected, `${from} + ${name}`);
        }
      }
    }
  });

  it('latches: an alarm that returns to normal stays until reset, and cannot be reset while active', () => {
    let f = apply(NORMAL_FACTS, EVENTS.activate, NOW, true).facts;
    f = apply(f, EVENTS.ack, NOW, true).facts;
    f = apply(f, EVENTS.clear, NOW, true).facts;
    assert.equal(stateOf(f), 'latched');
    assert.deepEqual(apply(BASE.unacknowledged, EVENTS.reset, NOW, true).refused, 'the alarm is not latched');
    f = apply(f, EVENTS.reset, NOW, true).facts;
    assert.equal(stateOf(f), 'normal');
  });

  it('shelving hides the alarm until the shelf expires, and shows what is true then', () => {
    let f = apply(NORMAL_FACTS, { type: 'shelve', until: NOW + 1000 }, NOW, false).facts;
    assert.equal(stateOf(f), 'shelved');
    f = apply(f, EVENTS.activate, NOW + 10, false).facts;
    assert.equal(stateOf(f), 'shelved', 'an activation while shelved is not annunciated');
    assert.equal(apply(f, EVENTS.tick, NOW + 999, false).applied, false);
    f = apply(f, EVENTS.tick, NOW + 1000, false).facts;
    assert.equal(stateOf(f), 'unacknowledged', 'the shelf expired while the alarm is active: it must be seen');
    assert.equal(apply(NORMAL_FACTS, { type: 'shelve', until: NOW }, NOW, false).refused, 'a shelf needs an expiry in the future');
  });

  it('suppression and out of service hide the alarm; coming back shows the current truth', () => {
    let f = apply(BASE.acknowledged, EVENTS.suppress, NOW, false).facts;
    f = apply(f, EVENTS.clear, NOW, false).facts;
    f = apply(f, EVENTS.unsuppress, NOW, false).facts;
    assert.equal(stateOf(f), 'normal');
    let g = apply(NORMAL_FACTS, EVENTS.disable, NOW, false).facts;
    g = apply(g, EVENTS.activate, NOW, false).facts;
    assert.equal(stateOf(g), 'out-of-service');
    assert.equal(apply(g, EVENTS.ack, NOW, false).refused, 'the alarm is out of service');
    g = apply(g, EVENTS.enable, NOW, false).facts;
    assert.equal(stateOf(g), 'unacknowledged', 'active when put back in service: must be acknowledged');
  });

  it('never reaches an undefined or inconsistent state in 100,000 random events', () => {
    const random = seededRandom(17);
    const names = Object.keys(EVENTS);
    let f: AlarmFacts = NORMAL_FACTS;
    let now = NOW;
    for (let i = 0; i < 100_000; i++) {
      now += Math.floor(random() * 5000);
      const name = names[Math.floor(random() * names.length)];
      const event: AlarmEvent = name === 'shelve' ? { type: 'shelve', until: now + Math.floor(random() * 20_000) } : EVENTS[name];
      const outcome = apply(f, event, now, random() < 0.5);
      if (!outcome.applied) assert.deepEqual(outcome.facts, f, 'a refused event changes nothing');
      f = outcome.facts;
      assert.ok(ALARM_STATES.includes(stateOf(f)));
      assert.ok(!(f.latched && f.active), 'latched only after a return to normal');
      assert.ok(f.inService || (f.acked && f.shelvedUntil === undefined && !f.latched), 'out of service owes nothing');
      if (f.inService && f.shelvedUntil !== undefined) assert.equal(stateOf(f), 'shelved', 'a shelf hides the alarm');
    }
  });
});

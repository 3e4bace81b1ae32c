/**
 * The ISA-18.2 / IEC 62682 alarm lifecycle of one alarm, modelled as OPC UA Part 9 does: independent facts (in
 * service, active, acknowledged, latched, shelved, suppressed) from which the ISA state (A to H) follows. Every
 * event gives a transition record (old and new state, time, who, why) for the audit trail.
 *
 *   A normal            not active, acknowledged
 *   B unacknowledged    active, not acknowledged
 *   C acknowledged      active, acknowledged
 *   D rtn-unack         returned to normal, not acknowledged
 *   E latched           returned to normal, latched: stays until an operator resets it
 *   F shelved           hidden by an operator until the shelf expires (a shelf always expires)
 *   G suppressed        hidden by design (e.g. the machine is stopped)
 *   H out-of-service    taken out of service
 * F, G and H hide the alarm; underneath, active and acknowledged keep following the process, so when it comes back
 * it shows what is true then. An activation while suppressed by design or out of service owes no acknowledgment
 * (it was expected, or not watched); one while shelved does.
 */

export type AlarmState =
  | 'normal' | 'unacknowledged' | 'acknowledged' | 'rtn-unack' | 'latched' | 'shelved' | 'suppressed' | 'out-of-service';

export const ALARM_STATES: readonly AlarmState[] = [
  'normal', 'unacknowledged', 'acknowledged', 'rtn-unack', 'latched', 'shelved', 'suppressed', 'out-of-service',
];

export type AlarmEvent =
  | { type: 'activate' }
  | { type: 'clear' }
  | { type: 'ack' }
  | { type: 'reset' }
  | { type: 'shelve'; until: number }
  | { type: 'unshelve' }
  | { type: 'suppress' }
  | { type: 'unsuppress' }
  | { type: 'disable' }
  | { type: 'enable' }
  /** the clock: ends a shelf whose time is up */
  | { type: 'tick' };

export interface AlarmFacts {
  inService: boolean;
  active: boolean;
  acked: boolean;
  latched: boolean;
  /** epoch ms the shelf ends; undefined when not shelved */
  shelvedUntil: number | undefined;
  suppressed: boolean;
}

export const NORMAL_FACTS: AlarmFacts = {
  inService: true, active: false, acked: true, latched: false, shelvedUntil: undefined, suppressed: false,
};

/** The ISA state the facts amount to; the hiding states take precedence (out of service, then shelved, then suppressed). */
export function stateOf(f: AlarmFacts): AlarmState {
  if (!f.inService) return 'out-of-service';
  if (f.shelvedUntil !== undefined) return 'shelved';
  if (f.suppressed) return 'suppressed';
  if (f.active) return f.acked ? 'acknowledged' : 'unacknowledged';
  if (f.latched) return 'latched';
  return f.acked ? 'normal' : 'rtn-unack';
}

export interface Outcome {
  facts: AlarmFacts;
  /** false when the event does not apply in this state (e.g. ack of an acknowledged alarm): nothing changes */
  applied: boolean;
  /** why an operator command was refused, in words */
  refused?: string;
}

/**
 * Applies one event. Process events (activate, clear) always update the facts underneath; operator commands that
 * make no sense in the current state are refused with a reason and change nothing.
 */
export function apply(f: AlarmFacts, e: AlarmEvent, now: number, latching: boolean): Outcome {
  const next = { ...f };
  const refuse = (why: string): Outcome => ({ facts: f, applied: false, refused: why });
  switch (e.type) {
    case 'activate':
      if (f.active) return { facts: f, applied: false };
      next.active = true;
      // a new occurrence needs a new acknowledgment; out of service or suppressed by design nothing is annunciated,
      // so none is owed (a shelved alarm is a real one hidden for a while: it is owed)
      next.acked = !f.inService || f.suppressed;
      next.latched = false;
      break;
    case 'clear':
      if (!f.active) return { facts: f, applied: false };
      next.active = false;
      // an episode nobody was owed (suppressed by design, no acknowledgment due) leaves no latch
      next.latched = latching && f.inService && !(f.suppressed && f.acked);
      break;
    case 'ack':
      if (!f.inService) return refuse('the alarm is out of service');
      if (f.acked) return refuse('the alarm is already acknowledged');
      next.acked = true;
      break;
    case 'reset':
      if (!f.latched) return refuse('the alarm is not latched');
      if (f.active) return refuse('the alarm is still active');
      next.latched = false;
      next.acked = true;
      break;
    case 'shelve':
      if (!f.inService) return refuse('the alarm is out of service');
      if (!(e.until > now)) return refuse('a shelf needs an expiry in the future');
      next.shelvedUntil = e.until;
      break;
    case 'unshelve':
      if (f.shelvedUntil === undefined) return refuse('the alarm is not shelved');
      next.shelvedUntil = undefined;
      break;
    case 'tick':
      if (f.shelvedUntil === undefined || now < f.shelvedUntil) return { facts: f, applied: false };
      next.shelvedUntil = undefined;
      break;
    case 'suppress':
      if (f.suppressed) return { facts: f, applied: false };
      next.suppressed = true;
      break;
    case 'unsuppress':
      if (!f.suppressed) return { facts: f, applied: false };
      next.suppressed = false;
      // still active when the suppression ends: now it must be seen (unless nobody watches it: out of service)
      if (f.active && f.inService) next.acked = false;
      break;
    case 'disable':
      if (!f.inService) return refuse('the alarm is already out of service');
      next.inService = false;
      next.shelvedUntil = undefined;
      next.latched = false;
      next.acked = true;
      break;
    case 'enable':
      if (f.inService) return refuse('the alarm is already in service');
      next.inService = true;
      // back in service: an alarm active now must be seen and acknowledged
      next.acked = !f.active;
      break;
  }
  return { facts: next, applied: true };
}

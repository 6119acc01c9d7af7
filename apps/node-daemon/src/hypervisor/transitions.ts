import { DomainState } from '@oblako/contracts';

export type PowerAction = 'start' | 'stop' | 'remove';
/** `act`: call libvirt; `noop`: already there; `refuse`: impossible from this state. */
export type Decision = 'act' | 'noop' | 'refuse';

/**
 * What each power action does from each state libvirt reports. DomainLifecycle consults this
 * table before every call, which is what makes repeated commands converge instead of failing.
 */
export const POWER_TRANSITIONS: Readonly<Record<PowerAction, Readonly<Record<DomainState, Decision>>>> = {
  //        running   paused (resume)  shutoff  crashed  missing   other
  start: { running: 'noop', paused: 'act', shutoff: 'act', crashed: 'act', missing: 'refuse', other: 'act' },
  //        ACPI      destroy (ACPI cannot reach a paused guest)
  stop: { running: 'act', paused: 'act', shutoff: 'noop', crashed: 'noop', missing: 'refuse', other: 'act' },
  remove: { running: 'act', paused: 'act', shutoff: 'act', crashed: 'act', missing: 'noop', other: 'act' },
};

export function decide(action: PowerAction, state: DomainState): Decision {
  return POWER_TRANSITIONS[action][state];
}

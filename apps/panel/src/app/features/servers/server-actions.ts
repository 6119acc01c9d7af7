import type { MatDialog } from '@angular/material/dialog';
import { FINISHED_TASK_STATES, planAction, type ServerView } from '@oblako/contracts';
import { firstValueFrom } from 'rxjs';
import type { PowerAction } from '../../core/api/api.service';
import { ConfirmDialog, type ConfirmData } from '../../shared/confirm-dialog';

/** What the API accepts: the power actions of its OpenAPI document, and DELETE. */
export type PanelAction = PowerAction | 'delete';

export interface ActionButton {
  action: PanelAction;
  label: string;
  confirm: Omit<ConfirmData, 'typeToConfirm'> & { typed?: boolean };
}

/** Every action of a server, with its confirmation: the server page shows them all, the list's rows start, stop and reboot. */
export const SERVER_ACTIONS: readonly ActionButton[] = [
  { action: 'start', label: 'Start', confirm: { title: 'Start the server?', message: 'The server boots from its disk.', confirmLabel: 'Start' } },
  { action: 'stop', label: 'Stop', confirm: { title: 'Stop the server?', message: 'The operating system is asked to shut down; after a timeout the server is powered off.', confirmLabel: 'Stop' } },
  { action: 'reboot', label: 'Reboot', confirm: { title: 'Reboot the server?', message: 'Running programs are interrupted while it restarts.', confirmLabel: 'Reboot' } },
  { action: 'pause', label: 'Pause', confirm: { title: 'Pause the server?', message: 'The server is frozen in memory: it keeps its state but answers nothing until you resume it.', confirmLabel: 'Pause' } },
  { action: 'resume', label: 'Resume', confirm: { title: 'Resume the server?', message: 'The server runs on from where it was paused.', confirmLabel: 'Resume' } },
  { action: 'rescue', label: 'Rescue', confirm: { title: 'Boot into rescue?', message: 'The server shuts down and boots the rescue system on its own address, with its own disk attached as a second disk (/dev/vdc) to repair or copy. It stays in rescue until you leave it.', confirmLabel: 'Boot rescue' } },
  { action: 'unrescue', label: 'Leave rescue', confirm: { title: 'Leave rescue?', message: 'The rescue system shuts down and the server boots from its own disk again.', confirmLabel: 'Leave rescue' } },
  { action: 'rebuild', label: 'Rebuild', confirm: { title: 'Rebuild', message: '', confirmLabel: 'Rebuild', danger: true, typed: true } },
  { action: 'reset_password', label: 'Reset root password', confirm: { title: 'Reset root password', message: '', confirmLabel: 'Reset' } },
  { action: 'delete', label: 'Delete', confirm: { title: 'Delete the server?', message: 'The server, its disk and its addresses are released. This cannot be undone.', confirmLabel: 'Delete', danger: true, typed: true } },
];

/** The actions each row of the server list offers. */
export const ROW_ACTIONS: readonly ActionButton[] = SERVER_ACTIONS.filter((a) => a.action === 'start' || a.action === 'stop' || a.action === 'reboot');

export interface ActionState extends ActionButton {
  enabled: boolean;
  /** Why it is disabled, for the screen (empty when enabled). */
  reason: string;
}

export function hasActiveTask(s: ServerView): boolean {
  const t = s.currentTask;
  return !!t && !FINISHED_TASK_STATES.includes(t.state);
}

/** Whether each action may run on this server now, and why not: the state machine, the image's guest agent, the role, an action already under way. */
export function actionStates(s: ServerView, actions: readonly ActionButton[], o: { canWrite: boolean; busy: boolean }): ActionState[] {
  const active = hasActiveTask(s);
  return actions.map((a) => {
    const plan = planAction(s.state, a.action, active);
    // the API refuses it too (409 no_guest_agent); the button says why before anyone asks
    const noAgent = a.action === 'reset_password' && !s.image.guestAgent;
    const reason = noAgent ? `The image ${s.image.name} has no guest agent: rebuild with a new root password instead.` : plan.ok ? (o.canWrite ? '' : 'Your role may not change servers.') : plan.reason;
    return { ...a, enabled: plan.ok && !noAgent && o.canWrite && !o.busy, reason };
  });
}

/** The action's confirmation (typing the host name for the dangerous ones); true when confirmed. */
export function confirmAction(dialog: MatDialog, a: ActionButton, s: ServerView): Promise<boolean> {
  const data: ConfirmData = { ...a.confirm, ...(a.confirm.typed ? { typeToConfirm: s.hostname } : {}) };
  return firstValueFrom(dialog.open<ConfirmDialog, ConfirmData, boolean>(ConfirmDialog, { data, autoFocus: a.confirm.typed ? 'first-tabbable' : 'dialog', width: '440px', maxWidth: '95vw' }).afterClosed()).then((ok) => ok === true);
}

/** An action as the reasons list needs it: its name, its button's label, whether it may run, and why not. */
export interface ReasonInput {
  action: string;
  label: string;
  enabled: boolean;
  reason: string;
}

/** One line of the "why not" list: the actions that share one reason, named together. */
export interface ReasonGroup {
  /** The element id the buttons' aria-describedby point at. */
  id: string;
  actions: string[];
  /** "Start, Stop and Reboot" */
  labels: string;
  reason: string;
}

/**
 * The reasons of the disabled actions, one line per distinct reason, in the buttons' order: a provisioning server's
 * three row actions (or the server page's ten) say "wait for the current task" once, not three (or ten) times.
 * `describedBy` maps each disabled action to its line's id; `idPrefix` keeps ids unique on a page of many rows.
 */
export function groupReasons(items: readonly ReasonInput[], idPrefix: string): { groups: ReasonGroup[]; describedBy: Partial<Record<string, string>> } {
  const byReason = new Map<string, ReasonGroup>();
  const describedBy: Partial<Record<string, string>> = {};
  for (const a of items) {
    if (a.enabled || !a.reason) continue;
    let g = byReason.get(a.reason);
    if (!g) {
      g = { id: `${idPrefix}${a.action}`, actions: [], labels: '', reason: a.reason };
      byReason.set(a.reason, g);
    }
    g.actions.push(a.action);
    describedBy[a.action] = g.id;
  }
  const groups = [...byReason.values()];
  for (const g of groups) {
    const labels = items.filter((a) => g.actions.includes(a.action)).map((a) => a.label);
    g.labels = labels.length < 2 ? labels.join('') : `${labels.slice(0, -1).join(', ')} and ${labels[labels.length - 1]}`;
  }
  return { groups, describedBy };
}

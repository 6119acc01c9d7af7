import { effect, inject, signal, untracked } from '@angular/core';
import { MatDialog } from '@angular/material/dialog';
import type { ServerView } from '@oblako/contracts';
import { errorMessage } from '../../core/api/api-error';
import { askConfirm, type ConfirmData } from '../../shared/confirm-dialog';

export interface ServerTaskListOptions<T> {
  /** The server whose list it is (an input signal of the section). */
  server: () => ServerView;
  /** Reads the list from the API. */
  load: (serverId: string) => Promise<T[]>;
  /** A task was started (with the server the API answered, when it gave one): the page follows it. */
  changed: (s: ServerView | null) => void;
  /** What a refused action says on screen (default: the API's message). */
  errorText?: (e: unknown) => string;
}

/**
 * The list of a server page section whose rows change through the server's tasks (snapshots, backups): read again
 * whenever the server's state or current task changes (a row becomes ready or failed when its task ends), and each
 * row action asked first (optional), run with `busy` set, followed by the page and the list read again; a refusal
 * shows in `error`. Create it in a component's field initialiser (it needs an injection context for its effect).
 */
export class ServerTaskList<T> {
  readonly items = signal<T[]>([]);
  readonly loaded = signal(false);
  readonly busy = signal(false);
  readonly error = signal<string | null>(null);
  private readonly dialog = inject(MatDialog);

  constructor(private readonly o: ServerTaskListOptions<T>) {
    effect(() => {
      const s = o.server();
      void s.state;
      void s.currentTask?.state;
      untracked(() => void this.reload());
    });
  }

  async reload(): Promise<void> {
    try {
      this.items.set(await this.o.load(this.o.server().id));
      this.loaded.set(true);
    } catch (e) {
      this.error.set(errorMessage(e));
    }
  }

  /**
   * Run one action: confirmed first when `confirm` is given (cancelled: nothing happens), then `fn` with `busy` set;
   * the server it answers (or null) goes to the page, and the list is read again.
   */
  async run(fn: () => Promise<ServerView | null>, confirm?: ConfirmData): Promise<void> {
    if (confirm && !(await askConfirm(this.dialog, confirm))) return;
    this.busy.set(true);
    this.error.set(null);
    try {
      this.o.changed(await fn());
      await this.reload();
    } catch (e) {
      this.error.set((this.o.errorText ?? errorMessage)(e));
    } finally {
      this.busy.set(false);
    }
  }
}

import { ChangeDetectionStrategy, Component, input } from '@angular/core';
import type { ServerView } from '@oblako/contracts';
import { BackupScheduleForm } from './backup-schedule-form';

/** The Backups section of a server: its schedule and retention policy. */
@Component({
  selector: 'ob-server-backups',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [BackupScheduleForm],
  template: `
    <section class="backups" data-testid="server-backups" aria-labelledby="backups-title">
      <h2 id="backups-title">Backups</h2>
      <p class="ob-muted">A backup is a full copy of the disk on a backup store away from the server's host; it is kept after the server is deleted, for a while.</p>
      <ob-backup-schedule-form [serverId]="server().id" [canWrite]="canWrite()" />
    </section>
  `,
})
export class ServerBackups {
  readonly server = input.required<ServerView>();
  readonly canWrite = input(false);
}

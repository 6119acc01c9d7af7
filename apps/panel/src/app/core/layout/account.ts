import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButtonModule } from '@angular/material/button';
import { MatCardModule } from '@angular/material/card';
import { AuthService } from '../auth/auth.service';

@Component({
  selector: 'ob-account',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [MatButtonModule, MatCardModule],
  template: `
    <div class="ob-page" data-testid="account-page">
      <div class="ob-page-header"><h1>Account</h1></div>
      @if (auth.user(); as u) {
        <mat-card appearance="outlined"><mat-card-content>
          <p>Signed in as <strong data-testid="account-email">{{ u.email }}</strong></p>
          @if (u.staffRole) {<p>Staff role: {{ u.staffRole }}</p>}
          @for (m of u.memberships; track m.tenantId) {
            <p class="ob-row">{{ m.tenantName }} · {{ m.role }}
              @if (m.tenantId !== auth.tenantId()) {
                <button mat-stroked-button type="button" (click)="auth.selectTenant(m.tenantId)">Switch to this team</button>
              } @else {<span class="ob-muted">(current team)</span>}
            </p>
          }
        </mat-card-content></mat-card>
      }
    </div>`,
})
export class AccountPage {
  readonly auth = inject(AuthService);
}

import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';

@Component({
  selector: 'ob-not-found',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule],
  template: `<div class="ob-page" data-testid="not-found"><h1>Not found</h1>
    <p>There is nothing at this address, or it belongs to someone else.</p><a mat-stroked-button routerLink="/">Go home</a></div>`,
})
export class NotFoundPage {}

@Component({
  selector: 'ob-forbidden',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [RouterLink, MatButtonModule],
  template: `<div class="ob-page" data-testid="forbidden"><h1>Not allowed</h1>
    <p>Your role does not allow this page. Ask an owner or admin of your team.</p><a mat-stroked-button routerLink="/">Go home</a></div>`,
})
export class ForbiddenPage {}

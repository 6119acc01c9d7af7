import { Injectable, inject, signal } from '@angular/core';
import { ApiService } from './api.service';

/** Whether billing is on (Stripe) or off; asked once per session, off until known. */
@Injectable({ providedIn: 'root' })
export class BillingStatusService {
  private readonly api = inject(ApiService);
  private asked = false;
  readonly on = signal(false);

  ensureLoaded(): void {
    if (this.asked) return;
    this.asked = true;
    this.api.billingStatus().then(
      (s) => this.on.set(s.billing === 'on'),
      () => {
        this.asked = false;
      },
    );
  }
}

import { BreakpointObserver } from '@angular/cdk/layout';
import { ChangeDetectionStrategy, Component, computed, effect, inject, signal, viewChild } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { FormsModule } from '@angular/forms';
import { Router, RouterLink } from '@angular/router';
import { MatButtonModule } from '@angular/material/button';
import { MatCheckboxModule } from '@angular/material/checkbox';
import { MatFormFieldModule } from '@angular/material/form-field';
import { MatInputModule } from '@angular/material/input';
import { MatProgressBarModule } from '@angular/material/progress-bar';
import { MatRadioModule } from '@angular/material/radio';
import { MatStepper, MatStepperModule } from '@angular/material/stepper';
import { hostnameProblem, NAME_MAX_LENGTH, type ImageView, type LocationView, type PlanView, type SshKeyView } from '@oblako/contracts';
import { map } from 'rxjs';
import { ApiService } from '../../core/api/api.service';
import { BillingStatusService } from '../../core/api/billing-status.service';
import { errorMessage } from '../../core/api/api-error';
import { AuthService } from '../../core/auth/auth.service';
import { ErrorBanner } from '../../shared/error-banner';
import { rootPasswordProblem } from '../../shared/root-password';
import { RootPasswordField } from '../../shared/root-password-field';
import { LoadState } from '../../shared/load-state';
import { formatGiB, formatMiB, formatPlanPrice, randomId } from '../../shared/format';
import { ORDER_DRAFT_KEY, offeredPlans, orderProblems, planFitProblem, restoreDraft, saveDraft, suggestHostname, toCreateBody, type OrderDraft } from './order-draft';

@Component({
  selector: 'ob-order',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [
    FormsModule, RouterLink, MatButtonModule, MatCheckboxModule, MatFormFieldModule, MatInputModule, MatProgressBarModule,
    MatRadioModule, MatStepperModule, ErrorBanner, LoadState, RootPasswordField,
  ],
  templateUrl: './order.html',
  styleUrl: './order.scss',
})
export class OrderPage {
  private readonly api = inject(ApiService);
  private readonly router = inject(Router);
  readonly vertical = toSignal(inject(BreakpointObserver).observe('(max-width: 840px)').pipe(map((r) => r.matches)), { initialValue: false });

  readonly loading = signal(true);
  readonly loadError = signal<string | null>(null);
  readonly locations = signal<LocationView[]>([]);
  readonly plans = signal<PlanView[]>([]);
  readonly images = signal<ImageView[]>([]);
  /** The images offered in the chosen location (GET /images?locationId: verified on a node there); null while loading. */
  readonly locationImages = signal<ImageView[] | null>(null);
  readonly locationImagesError = signal<string | null>(null);
  readonly keys = signal<SshKeyView[]>([]);

  readonly location = signal<LocationView | null>(null);
  readonly plan = signal<PlanView | null>(null);
  readonly image = signal<ImageView | null>(null);
  readonly hostname = signal('');
  readonly hostnameTouched = signal(false);
  readonly sshKeyIds = signal<string[]>([]);
  /** Never part of the draft (which is kept in sessionStorage): the password lives only in this page. */
  readonly rootPassword = signal('');
  readonly rootPasswordAgain = signal('');
  readonly passwordProblem = computed(() => rootPasswordProblem(this.rootPassword(), this.rootPasswordAgain()));

  readonly newKeyName = signal('');
  readonly newKey = signal('');
  readonly addingKey = signal(false);
  readonly keyError = signal<string | null>(null);

  /** One key per order: retries of the same order (double click, network error) make one server. */
  private idempotency: { key: string; body: string } | null = null;
  readonly submitting = signal(false);
  readonly submitError = signal<string | null>(null);

  readonly nameMax = NAME_MAX_LENGTH;
  readonly billingOn = inject(BillingStatusService).on;
  private readonly auth = inject(AuthService);
  readonly suspended = computed(() => !!this.auth.membership()?.suspendedAt);
  readonly hostnameError = computed(() => hostnameProblem(this.hostname().trim()));
  readonly draft = computed<OrderDraft>(() => ({
    location: this.location(), plan: this.plan(), image: this.image(), hostname: this.hostname(), sshKeyIds: this.sshKeyIds(),
  }));
  readonly problems = computed(() => orderProblems(this.draft()));
  readonly selectedKeys = computed(() => this.keys().filter((k) => this.sshKeyIds().includes(k.id)));

  readonly stepper = viewChild<MatStepper>('stepper');
  readonly step = signal(0);
  /** Restored from session storage once the catalogue is loaded; until then nothing is saved over it. */
  private restored = false;

  constructor() {
    void this.load();
    // The draft survives a reload (session storage: this tab only, gone when it closes).
    effect(() => {
      const text = saveDraft(this.draft(), this.step());
      if (this.restored) sessionStore()?.setItem(ORDER_DRAFT_KEY, text);
    });
  }

  imageDetail(i: ImageView): string {
    const detail = `${i.osFamily} ${i.version}`.trim();
    return i.name.toLowerCase().includes(detail.toLowerCase()) ? '' : detail;
  }

  /** Why plan `p` cannot take the chosen image (greyed out with this reason); null when it can or no image is chosen. */
  planTooSmall(p: PlanView): string | null {
    const image = this.image();
    return image ? planFitProblem(p, image) : null;
  }

  /** Why image `i` does not fit the chosen plan (greyed out with this reason); null when it does or no plan is chosen. */
  imageTooLarge(i: ImageView): string | null {
    const plan = this.plan();
    return plan ? planFitProblem(plan, i) : null;
  }

  /** Enter in the host-name field goes on, as the Next button would. */
  hostnameEnter(ev: Event): void {
    ev.preventDefault();
    this.hostnameTouched.set(true);
    if (!this.hostnameError()) this.stepper()?.next();
  }

  private restore(): void {
    const saved = restoreDraft(sessionStore()?.getItem(ORDER_DRAFT_KEY) ?? null, {
      locations: this.locations(), plans: this.plans(), images: this.images(), sshKeyIds: this.keys().map((k) => k.id),
    });
    if (saved) {
      if (saved.location) this.setLocation(saved.location);
      this.plan.set(saved.plan);
      this.image.set(saved.image);
      this.hostname.set(saved.hostname);
      this.sshKeyIds.set(saved.sshKeyIds);
      // The stepper exists once the page has rendered with the catalogue.
      setTimeout(() => {
        const st = this.stepper();
        if (st) {
          for (let i = 0; i < saved.step; i++) st.next();
        }
        this.step.set(st?.selectedIndex ?? 0);
      });
    }
    this.restored = true;
  }

  formatMiB = formatMiB;
  formatGiB = formatGiB;
  money(p: PlanView): string {
    return formatPlanPrice(p);
  }

  async load(): Promise<void> {
    this.loading.set(true);
    this.loadError.set(null);
    try {
      const [locations, plans, images, keys] = await Promise.all([this.api.locations(), this.api.plans(), this.api.images(), this.api.sshKeys()]);
      this.locations.set(locations.items);
      this.plans.set(offeredPlans(plans.items));
      this.images.set(images.items.filter((i) => i.active));
      this.keys.set(keys.items);
      if (locations.items.length === 1) this.setLocation(locations.items[0] ?? null);
      this.loading.set(false);
      this.restore();
    } catch (e) {
      this.loadError.set(errorMessage(e));
    } finally {
      this.loading.set(false);
    }
  }

  pickLocation(id: string): void {
    this.setLocation(this.locations().find((l) => l.id === id) ?? null);
  }

  /** A location chosen: its own images are loaded; an image chosen before that is not offered there is unchosen. */
  private setLocation(location: LocationView | null): void {
    if (location?.id === this.location()?.id && this.locationImages() !== null) return;
    this.location.set(location);
    this.locationImages.set(null);
    this.locationImagesError.set(null);
    if (location) void this.loadLocationImages(location.id);
  }

  private async loadLocationImages(locationId: string): Promise<void> {
    try {
      const items = (await this.api.images(locationId)).items.filter((i) => i.active);
      if (this.location()?.id !== locationId) return;
      this.locationImages.set(items);
      const chosen = this.image();
      if (chosen && !items.some((i) => i.id === chosen.id)) this.image.set(null);
    } catch (e) {
      if (this.location()?.id !== locationId) return;
      this.locationImages.set([]);
      this.locationImagesError.set(errorMessage(e));
    }
  }

  pickPlan(id: string): void {
    this.plan.set(this.plans().find((p) => p.id === id) ?? null);
  }

  pickImage(id: string): void {
    const image = (this.locationImages() ?? []).find((i) => i.id === id) ?? null;
    this.image.set(image);
    if (image && !this.hostname()) this.hostname.set(suggestHostname(image));
  }

  toggleKey(id: string, on: boolean): void {
    this.sshKeyIds.update((ids) => (on ? [...ids.filter((x) => x !== id), id] : ids.filter((x) => x !== id)));
  }

  async addKey(): Promise<void> {
    const name = this.newKeyName().trim();
    const publicKey = this.newKey().trim();
    if (!name || !publicKey) {
      this.keyError.set('Give the key a name and paste its public half (one line starting with ssh-ed25519, ssh-rsa or ecdsa-sha2-…).');
      return;
    }
    this.addingKey.set(true);
    this.keyError.set(null);
    try {
      const key = await this.api.addSshKey(name, publicKey);
      this.keys.update((k) => [...k, key]);
      this.toggleKey(key.id, true);
      this.newKeyName.set('');
      this.newKey.set('');
    } catch (e) {
      this.keyError.set(errorMessage(e));
    } finally {
      this.addingKey.set(false);
    }
  }

  async submit(): Promise<void> {
    this.hostnameTouched.set(true);
    const problems = this.problems();
    const pw = this.passwordProblem();
    if (problems.length > 0 || pw) {
      this.submitError.set([...problems.map((p) => p.problem), ...(pw ? [pw] : [])].join(' '));
      return;
    }
    this.submitting.set(true);
    this.submitError.set(null);
    try {
      const body = { ...toCreateBody(this.draft()), ...(this.rootPassword() ? { rootPassword: this.rootPassword() } : {}) };
      const text = JSON.stringify(body);
      if (!this.idempotency || this.idempotency.body !== text) this.idempotency = { key: randomId(), body: text };
      const server = await this.api.createServer(body, this.idempotency.key);
      sessionStore()?.removeItem(ORDER_DRAFT_KEY);
      this.restored = false;
      if (server.billing?.mode === 'checkout' && server.billing.checkoutUrl) {
        window.location.assign(server.billing.checkoutUrl);
        return;
      }
      // joined (added to the hourly subscription) or unavailable (why, and "Pay now" to retry): the server page says so
      await this.router.navigate(['/servers', server.id], { state: { orderBilling: server.billing ?? null } });
    } catch (e) {
      this.submitError.set(errorMessage(e));
    } finally {
      this.submitting.set(false);
    }
  }
}

function sessionStore(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

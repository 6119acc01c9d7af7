import { signal } from '@angular/core';
import { errorMessage } from '../../core/api/api-error';
import { adminLoadError } from './admin-load';

/**
 * A "load, then load more" list of a staff page: the first page, further pages from a cursor,
 * and the loading/error state the page template shows. `fetch(null)` gives the first page.
 */
export class PagedList<T, C> {
  readonly items = signal<T[]>([]);
  readonly next = signal<C | null>(null);
  readonly loading = signal(true);
  readonly error = signal<string | null>(null);
  readonly moreError = signal<string | null>(null);

  constructor(
    private readonly fetch: (cursor: C | null) => Promise<{ items: T[]; next: C | null }>,
    /** API path named in the error when the API does not have the endpoint. */
    private readonly path: string,
  ) {}

  async load(): Promise<void> {
    this.loading.set(true);
    this.error.set(null);
    try {
      const page = await this.fetch(null);
      this.items.set(page.items);
      this.next.set(page.next);
    } catch (e) {
      this.error.set(adminLoadError(e, this.path));
    } finally {
      this.loading.set(false);
    }
  }

  async more(): Promise<void> {
    try {
      const page = await this.fetch(this.next());
      this.items.update((l) => [...l, ...page.items]);
      this.next.set(page.next);
    } catch (e) {
      this.moreError.set(errorMessage(e));
    }
  }
}

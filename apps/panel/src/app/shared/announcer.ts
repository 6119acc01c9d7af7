import { Injectable, signal } from '@angular/core';

/**
 * One polite live region for the whole panel (rendered by the shell): what just changed, said
 * to screen readers ("web-1 is running", "The plan was saved"). Saying the same text twice is
 * heard twice: the region is emptied first.
 */
@Injectable({ providedIn: 'root' })
export class AnnouncerService {
  readonly message = signal('');
  private timer: ReturnType<typeof setTimeout> | null = null;

  say(text: string): void {
    this.message.set('');
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.message.set(text), 50);
  }
}

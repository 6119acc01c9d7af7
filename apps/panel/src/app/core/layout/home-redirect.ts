import { Component, inject } from '@angular/core';
import { Router } from '@angular/router';
import { AuthService } from '../auth/auth.service';

/** "/" goes to the first page this user may see. */
@Component({ selector: 'ob-home-redirect', template: '' })
export class HomeRedirect {
  constructor() {
    void inject(Router).navigateByUrl(inject(AuthService).home(), { replaceUrl: true });
  }
}

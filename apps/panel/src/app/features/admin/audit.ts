import { Component } from '@angular/core';
@Component({ selector: 'ob-auditpage', template: '<div class="ob-page"><h1>AuditPage</h1><p>Coming soon.</p></div>' })
export class AuditPage {}

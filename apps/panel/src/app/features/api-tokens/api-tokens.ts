import { Component } from '@angular/core';
@Component({ selector: 'ob-apitokenspage', template: '<div class="ob-page"><h1>ApiTokensPage</h1><p>Coming soon.</p></div>' })
export class ApiTokensPage {}

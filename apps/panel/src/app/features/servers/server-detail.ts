import { Component } from '@angular/core';
@Component({ selector: 'ob-serverdetailpage', template: '<div class="ob-page"><h1>ServerDetailPage</h1><p>Coming soon.</p></div>' })
export class ServerDetailPage {}

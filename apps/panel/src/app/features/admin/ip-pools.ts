import { Component } from '@angular/core';
@Component({ selector: 'ob-ippoolspage', template: '<div class="ob-page"><h1>IpPoolsPage</h1><p>Coming soon.</p></div>' })
export class IpPoolsPage {}

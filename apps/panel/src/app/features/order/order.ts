import { Component } from '@angular/core';
@Component({ selector: 'ob-orderpage', template: '<div class="ob-page"><h1>OrderPage</h1><p>Coming soon.</p></div>' })
export class OrderPage {}

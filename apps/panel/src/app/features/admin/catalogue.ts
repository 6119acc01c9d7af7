import { Component } from '@angular/core';
@Component({ selector: 'ob-planspage', template: '<div class="ob-page"><h1>PlansPage</h1><p>Coming soon.</p></div>' })
export class PlansPage {}
@Component({ selector: 'ob-imagespage', template: '<div class="ob-page"><h1>ImagesPage</h1><p>Coming soon.</p></div>' })
export class ImagesPage {}
@Component({ selector: 'ob-locationspage', template: '<div class="ob-page"><h1>LocationsPage</h1><p>Coming soon.</p></div>' })
export class LocationsPage {}

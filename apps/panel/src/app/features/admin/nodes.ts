import { Component } from '@angular/core';
@Component({ selector: 'ob-nodespage', template: '<div class="ob-page"><h1>NodesPage</h1><p>Coming soon.</p></div>' })
export class NodesPage {}

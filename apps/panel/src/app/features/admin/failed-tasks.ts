import { Component } from '@angular/core';
@Component({ selector: 'ob-failedtaskspage', template: '<div class="ob-page"><h1>FailedTasksPage</h1><p>Coming soon.</p></div>' })
export class FailedTasksPage {}

import { Component } from '@angular/core';
@Component({ selector: 'ob-sshkeyspage', template: '<div class="ob-page"><h1>SshKeysPage</h1><p>Coming soon.</p></div>' })
export class SshKeysPage {}

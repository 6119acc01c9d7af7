import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { linkIn, totp, uniqueName } from '@oblako/testing';
import { byTestId, newPage, shot, startBrowserE2E, type BrowserE2E } from './support.js';

let b: BrowserE2E;
before(async () => {
  b = await startBrowserE2E();
});
after(async () => {
  await b?.close();
});

const PASSWORD = 'correct horse battery staple';

async function signUp(page: Page, label: string): Promise<string> {
  const email = `${uniqueName(label)}@browser.test`;
  await page.goto('/signup');
  await byTestId(page, 'signup-email').fill(email);
  await byTestId(page, 'signup-password').fill(PASSWORD);
  await byTestId(page, 'signup-tenant').fill(`${label} Hosting`);
  await byTestId(page, 'signup-submit').click();
  await page.waitForURL(/\/(servers|order)/);
  return email;
}

async function logOut(page: Page): Promise<void> {
  await byTestId(page, 'user-menu').click();
  await byTestId(page, 'logout').click();
  await byTestId(page, 'login-form').waitFor();
}

async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await byTestId(page, 'login-email').fill(email);
  await byTestId(page, 'login-password').fill(password);
  await byTestId(page, 'login-submit').click();
}

describe('accounts in a real browser', () => {
  test('sign-up mails a link that confirms the address in the panel, once', async () => {
    const page = await newPage(b);
    const email = await signUp(page, 'verify');
    await byTestId(page, 'verify-banner').waitFor();
    const mail = await b.stack.mail!.waitForMail(email, (m) => /Confirm your email/.test(m.subject));
    const link = linkIn(mail, `${b.panelUrl}/verify-email`);
    await page.goto(link);
    await byTestId(page, 'verify-done').waitFor();
    assert.match(await byTestId(page, 'verify-done').innerText(), new RegExp(email.replace(/[.+]/g, '\\$&')));
    await shot(page, '20-email-verified');
    await page.goto('/servers');
    await byTestId(page, 'servers-page').waitFor();
    assert.equal(await byTestId(page, 'verify-banner').count(), 0, 'the banner is gone once confirmed');
    // The same link again: refused, with a way forward.
    await page.goto(link);
    await byTestId(page, 'verify-error').waitFor();
    assert.match(await byTestId(page, 'verify-error').innerText(), /not valid/);
  });

  test('enrol in two-factor sign-in with the QR page, then sign in with a code; wrong codes fail; a recovery code works once', async () => {
    const page = await newPage(b);
    const email = await signUp(page, 'tfa');
    await page.goto('/account');
    await byTestId(page, 'tfa-off').waitFor();
    await byTestId(page, 'tfa-password').fill(PASSWORD);
    await byTestId(page, 'tfa-start').click();
    await byTestId(page, 'qr-code').waitFor();
    const uri = await byTestId(page, 'qr-code').getAttribute('data-text');
    const secret = (await byTestId(page, 'tfa-secret').innerText()).trim();
    assert.match(uri ?? '', new RegExp(`^otpauth://totp/.*secret=${secret}`));
    await shot(page, '21-two-factor-enrol');
    const t = Math.floor(Date.now() / 1000);
    await byTestId(page, 'tfa-code').fill(totp(secret, t));
    await byTestId(page, 'tfa-enable').click();
    await byTestId(page, 'tfa-recovery-codes').waitFor();
    const codes = (await byTestId(page, 'tfa-recovery-code').allInnerTexts()).map((c) => c.trim());
    assert.equal(codes.length, 10);
    await shot(page, '22-recovery-codes');
    await byTestId(page, 'tfa-codes-saved').click();
    await byTestId(page, 'tfa-on').waitFor();
    await logOut(page);

    // Password first, then the code step.
    await logIn(page, email);
    await byTestId(page, 'login-2fa-code').waitFor();
    await shot(page, '23-login-code-step');
    await byTestId(page, 'login-2fa-code').fill('000000');
    await byTestId(page, 'login-2fa-submit').click();
    await byTestId(page, 'login-error').waitFor();
    assert.match(await byTestId(page, 'login-error').innerText(), /wrong, expired or was used/);
    await byTestId(page, 'login-2fa-code').fill(totp(secret, t)); // spent on enrolment
    await byTestId(page, 'login-2fa-submit').click();
    await page.locator('[data-testid="login-error"]', { hasText: 'used' }).waitFor();
    await byTestId(page, 'login-2fa-code').fill(totp(secret, t - 120)); // expired
    await byTestId(page, 'login-2fa-submit').click();
    await page.waitForTimeout(300);
    assert.equal(new URL(page.url()).pathname, '/login');
    await byTestId(page, 'login-2fa-code').fill(totp(secret, t + 30));
    await byTestId(page, 'login-2fa-submit').click();
    await page.waitForURL(/\/servers/);
    await page.goto('/account');
    const current = page.locator('[data-testid="session-row"][data-current="true"]');
    await current.waitFor();
    assert.match(await current.innerText(), /with a second factor/);
    await logOut(page);

    // A recovery code works once.
    await logIn(page, email);
    await byTestId(page, 'login-2fa-code').fill(codes[0]!);
    await byTestId(page, 'login-2fa-submit').click();
    await page.waitForURL(/\/servers/);
    await logOut(page);
    await logIn(page, email);
    await byTestId(page, 'login-2fa-code').fill(codes[0]!);
    await byTestId(page, 'login-2fa-submit').click();
    await byTestId(page, 'login-error').waitFor();
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  test('forgot password: the mailed link sets a new password once, and the old one stops working', async () => {
    const page = await newPage(b);
    const email = await signUp(page, 'reset');
    await logOut(page);
    await byTestId(page, 'go-forgot').click();
    await byTestId(page, 'forgot-email').fill(email);
    await byTestId(page, 'forgot-submit').click();
    await byTestId(page, 'forgot-sent').waitFor();
    const told = await byTestId(page, 'forgot-sent').innerText();
    assert.match(told, /If an account uses this address/);
    const mail = await b.stack.mail!.waitForMail(email, (m) => /Reset your password/.test(m.subject));
    const link = linkIn(mail, `${b.panelUrl}/reset-password`);
    await page.goto(link);
    await byTestId(page, 'reset-password').fill('a new horse battery staple');
    await byTestId(page, 'reset-submit').click();
    await byTestId(page, 'reset-done').waitFor();
    await shot(page, '24-password-reset');
    await page.goto(link);
    await byTestId(page, 'reset-password').fill('another horse battery');
    await byTestId(page, 'reset-submit').click();
    await byTestId(page, 'reset-error').waitFor();
    await logIn(page, email);
    await byTestId(page, 'login-error').waitFor();
    await logIn(page, email, 'a new horse battery staple');
    await page.waitForURL(/\/servers/);

    // An unknown address gets the very same answer.
    const other = await newPage(b);
    await other.goto('/forgot-password');
    await byTestId(other, 'forgot-email').fill(`${uniqueName('nobody')}@browser.test`);
    await byTestId(other, 'forgot-submit').click();
    await byTestId(other, 'forgot-sent').waitFor();
    assert.equal(await byTestId(other, 'forgot-sent').innerText(), told);
  });

  test('an invitation link lets a newcomer sign up straight into the team', async () => {
    const owner = await newPage(b);
    await signUp(owner, 'team');
    await owner.goto('/team');
    const invitee = `${uniqueName('newcomer')}@browser.test`;
    await byTestId(owner, 'member-email').fill(invitee);
    await byTestId(owner, 'member-add').click();
    await byTestId(owner, 'invite-sent').waitFor();
    await owner.locator(`[data-testid="invite-row"][data-email="${invitee}"]`).waitFor();
    const mail = await b.stack.mail!.waitForMail(invitee, (m) => /^Join/.test(m.subject));
    const page = await newPage(b);
    await page.goto(linkIn(mail, `${b.panelUrl}/invite`));
    await byTestId(page, 'invite-summary').waitFor();
    assert.match(await byTestId(page, 'invite-summary').innerText(), /team Hosting/);
    await byTestId(page, 'invite-password').fill(PASSWORD);
    await byTestId(page, 'invite-signup').click();
    await page.waitForURL(/\/servers/);
    assert.match(await byTestId(page, 'tenant-name').innerText(), /team Hosting/);
    await owner.reload();
    await owner.locator(`[data-testid="member-row"][data-email="${invitee}"]`).waitFor();
  });
});

/**
 * The mail the API sends. Each template gives a subject, a plain-text part and an HTML part, and
 * names the provider (brand name, support address, panel URL: the mail settings staff saved, else
 * the environment's). Values are
 * escaped into the HTML; nothing a user typed is ever inserted unescaped.
 */
export interface Brand {
  name: string;
  supportEmail: string;
  panelUrl: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface MailContent {
  /** One line, without the brand. */
  subject: string;
  /** Short paragraphs, plain text. */
  paragraphs: string[];
  /** The one thing to do, if any. */
  action?: { label: string; url: string };
  /** Facts as label: value (server address, login, ...). */
  facts?: [string, string][];
  /** Below the action, smaller: why they got it, what to do if it was not them. */
  footnote?: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function render(brand: Brand, c: MailContent): RenderedMail {
  const subject = `${c.subject} · ${brand.name}`;
  const text = [
    ...c.paragraphs,
    ...(c.facts?.length ? [c.facts.map(([k, v]) => `${k}: ${v}`).join('\n')] : []),
    ...(c.action ? [`${c.action.label}:\n${c.action.url}`] : []),
    ...(c.footnote ? [c.footnote] : []),
    `-- \n${brand.name} · ${brand.panelUrl}\nHelp: ${brand.supportEmail}`,
  ].join('\n\n');
  const p = (s: string) => `<p style="margin:0 0 16px">${escapeHtml(s)}</p>`;
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2328;font-size:15px;line-height:1.5">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" style="max-width:560px;background:#fff;border-radius:8px;padding:28px">
<tr><td>
<div style="font-weight:600;font-size:18px;margin-bottom:20px">${escapeHtml(brand.name)}</div>
${c.paragraphs.map(p).join('\n')}
${c.facts?.length ? `<table role="presentation" cellpadding="0" cellspacing="0" style="margin:0 0 16px">${c.facts.map(([k, v]) => `<tr><td style="padding:2px 16px 2px 0;color:#59636e">${escapeHtml(k)}</td><td style="font-family:ui-monospace,Menlo,monospace">${escapeHtml(v)}</td></tr>`).join('')}</table>` : ''}
${c.action ? `<p style="margin:24px 0"><a href="${escapeHtml(c.action.url)}" style="background:#1f6feb;color:#fff;text-decoration:none;padding:10px 18px;border-radius:6px;display:inline-block">${escapeHtml(c.action.label)}</a></p><p style="margin:0 0 16px;font-size:13px;color:#59636e">Or open this link: ${escapeHtml(c.action.url)}</p>` : ''}
${c.footnote ? `<p style="margin:16px 0 0;font-size:13px;color:#59636e">${escapeHtml(c.footnote)}</p>` : ''}
</td></tr></table>
<p style="font-size:12px;color:#59636e;margin-top:16px">${escapeHtml(brand.name)} · <a href="${escapeHtml(brand.panelUrl)}" style="color:#59636e">${escapeHtml(brand.panelUrl)}</a> · Help: <a href="mailto:${escapeHtml(brand.supportEmail)}" style="color:#59636e">${escapeHtml(brand.supportEmail)}</a></p>
</td></tr></table></body></html>`;
  return { subject, text, html };
}

/** The account mails. Links carry their token in the query; the panel page posts it to the API. */
export const accountMail = {
  verifyEmail: (brand: Brand, token: string): MailContent => ({
    subject: 'Confirm your email address',
    paragraphs: [`Welcome to ${brand.name}. Confirm that this address is yours to start ordering servers.`, 'The link works once and expires in 24 hours.'],
    action: { label: 'Confirm my address', url: `${brand.panelUrl}/verify-email?token=${encodeURIComponent(token)}` },
    footnote: 'If you did not sign up, ignore this mail: nothing happens without the link.',
  }),
  passwordReset: (brand: Brand, token: string): MailContent => ({
    subject: 'Reset your password',
    paragraphs: ['Someone (we hope you) asked to reset the password of your account.', 'The link works once and expires in one hour. Setting a new password signs you out everywhere.'],
    action: { label: 'Choose a new password', url: `${brand.panelUrl}/reset-password?token=${encodeURIComponent(token)}` },
    footnote: `If you did not ask for this, ignore this mail: your password stays as it is. Tell ${brand.supportEmail} if it keeps happening.`,
  }),
  passwordChanged: (brand: Brand, how: 'reset' | 'changed'): MailContent => ({
    subject: 'Your password was changed',
    paragraphs: [how === 'reset' ? 'The password of your account was reset through the link we mailed you. Every session was signed out.' : 'The password of your account was changed. Your other sessions were signed out.'],
    action: { label: 'Open the panel', url: `${brand.panelUrl}/login` },
    footnote: `If this was not you, reset your password now and write to ${brand.supportEmail}.`,
  }),
  invite: (brand: Brand, token: string, tenantName: string, inviter: string, role: string): MailContent => ({
    subject: `Join ${tenantName}`,
    paragraphs: [`${inviter} invited you to the team "${tenantName}" on ${brand.name} as ${role}.`, 'The invitation expires in 7 days.'],
    action: { label: 'Accept the invitation', url: `${brand.panelUrl}/invite?token=${encodeURIComponent(token)}` },
    footnote: 'If you do not know this team, ignore this mail.',
  }),
  testMail: (brand: Brand, server: string): MailContent => ({
    subject: 'Test mail',
    paragraphs: [`This is a test mail from ${brand.name}, sent through ${server} with the mail settings in force.`, 'If you can read it, mail from the panel reaches this address.'],
    action: { label: 'Open the panel', url: `${brand.panelUrl}/admin/settings` },
    footnote: 'A staff member sent it from the Mail settings page.',
  }),
  twoFactorChanged: (brand: Brand, change: 'enabled' | 'disabled' | 'recovery_codes' | 'recovery_code_used'): MailContent => ({
    subject: {
      enabled: 'Two-factor sign-in is on',
      disabled: 'Two-factor sign-in was turned off',
      recovery_codes: 'New recovery codes were made',
      recovery_code_used: 'A recovery code was used to sign in',
    }[change],
    paragraphs: [
      {
        enabled: 'Two-factor sign-in is now on for your account: signing in needs a code from your authenticator app (or a recovery code).',
        disabled: 'Two-factor sign-in was turned off for your account. Signing in needs only the password now.',
        recovery_codes: 'New recovery codes were made for your account; the old ones no longer work.',
        recovery_code_used: 'Someone signed in to your account with one of its recovery codes. Each code works once.',
      }[change],
    ],
    action: { label: 'Review your account', url: `${brand.panelUrl}/account` },
    footnote: `If this was not you, reset your password now and write to ${brand.supportEmail}.`,
  }),
};

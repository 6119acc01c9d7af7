/** The staff mail settings form, pure (unit-tested with node:test). */
import type { components } from '../../core/api/openapi.js';

type MailSettingsView = components['schemas']['MailSettingsDto'];
type UpdateMailSettingsBody = components['schemas']['UpdateMailSettingsDto'];

export type Security = UpdateMailSettingsBody['security'];

/** What the form edits: the saved settings, with the port as text while typed and a new password only when one is typed. */
export interface MailDraft {
  host: string;
  port: string;
  security: Security;
  user: string;
  /** '' keeps the password in force. */
  password: string;
  tlsVerify: boolean;
  from: string;
  brandName: string;
  supportEmail: string;
  panelUrl: string;
}

export const DEFAULT_PORT: Record<Security, number> = { starttls: 587, tls: 465, none: 25 };

export function draftOf(s: MailSettingsView): MailDraft {
  return {
    host: s.host ?? '', port: String(s.port), security: s.security, user: s.user ?? '', password: '',
    tlsVerify: s.tlsVerify, from: s.from, brandName: s.brandName, supportEmail: s.supportEmail, panelUrl: s.panelUrl,
  };
}

/**
 * The form's draft as the API's body, or the first thing to fix. The API checks every field again
 * and names it; this only catches what a person types by mistake before a round trip.
 */
export function mailBody(d: MailDraft): { body: UpdateMailSettingsBody } | { error: string } {
  const port = Number(d.port.trim());
  if (!/^\d+$/.test(d.port.trim()) || port < 1 || port > 65535) return { error: 'The port is a whole number from 1 to 65535 (587 for STARTTLS, 465 for TLS).' };
  const host = d.host.trim();
  if (/[:/\s]/.test(host)) return { error: 'The SMTP server is a host name or an address only, without "smtp://" or a port (the port has its own field).' };
  if (d.user.trim() === '' && d.password !== '') return { error: 'A password needs a login: fill in the user as well, or clear the password.' };
  const body: UpdateMailSettingsBody = {
    host: host === '' ? null : host, port, security: d.security, user: d.user.trim() === '' ? null : d.user.trim(), tlsVerify: d.tlsVerify,
    from: d.from.trim(), brandName: d.brandName.trim(), supportEmail: d.supportEmail.trim(), panelUrl: d.panelUrl.trim().replace(/\/+$/, ''),
  };
  if (body.user === null) body.password = null;
  else if (d.password !== '') body.password = d.password;
  return { body };
}


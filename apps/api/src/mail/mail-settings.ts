import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG } from '../common/config.provider.js';
import type { AppConfig, SmtpSecurity } from '../config/config.js';
import { seal, unseal } from '../auth/secrets.js';
import type { Brand } from './templates.js';

/** Settings key of the mail settings staff save (the `settings` table, one jsonb row). */
export const MAIL_SETTINGS_KEY = 'mail.settings';

/** What the mail worker and the templates use: the environment's values, overridden by what staff saved. */
export interface MailSettings {
  /** SMTP server; null = none (mail waits in the queue). */
  host: string | null;
  port: number;
  security: SmtpSecurity;
  user: string | null;
  /** Plain text, in memory only: never returned by the API nor logged. */
  password: string | null;
  tlsVerify: boolean;
  from: string;
  brandName: string;
  supportEmail: string;
  panelUrl: string;
}

export type MailSettingsFields = Omit<MailSettings, 'password'>;

/** The row's value. `overrides` holds only what staff saved; the password is sealed with the data key. */
interface StoredMailSettings {
  version: number;
  overrides: Partial<MailSettingsFields> & { passwordSealed?: string | null };
}

export interface EffectiveMailSettings {
  /** Grows with every save (0: never saved). The mail worker rebuilds its SMTP transport when it changes. */
  version: number;
  settings: MailSettings;
  /** environment: nothing saved (or reset), the environment's values apply. */
  source: 'environment' | 'saved';
  updatedAt: Date | null;
  updatedBy: string | null;
}

export function brandOf(s: MailSettings): Brand {
  return { name: s.brandName, supportEmail: s.supportEmail, panelUrl: s.panelUrl };
}

/**
 * The mail settings staff configure in the panel (SMTP server, sender, brand), stored in PostgreSQL
 * so every API replica reads the same. Reading them is one primary-key lookup; the result is kept
 * per version, so the sealed password is opened once per change, not per mail.
 */
@Injectable()
export class MailSettingsService {
  private cached: EffectiveMailSettings | null = null;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The environment's values: what applies until staff save their own. */
  defaults(): MailSettings {
    const c = this.config;
    return {
      host: c.mail.host, port: c.mail.port, security: c.mail.security, user: c.mail.user, password: c.mail.password,
      tlsVerify: c.mail.tlsVerify, from: c.mail.from, brandName: c.brand.name, supportEmail: c.brand.supportEmail, panelUrl: c.panelUrl,
    };
  }

  /** The settings in force now (read in `m`'s transaction when given). */
  async effective(m?: Pick<EntityManager, 'query'>): Promise<EffectiveMailSettings> {
    const [row]: { value: StoredMailSettings; updated_at: Date; updated_by: string | null }[] = await (m ?? this.ds).query(
      `SELECT s.value, s.updated_at, u.email AS updated_by FROM settings s LEFT JOIN users u ON u.id = s.updated_by WHERE s.key = $1`,
      [MAIL_SETTINGS_KEY],
    );
    const version = row ? Number(row.value.version) : 0;
    if (this.cached?.version === version) return this.cached;
    const overrides = row?.value.overrides ?? {};
    const { passwordSealed, ...fields } = overrides;
    const settings: MailSettings = {
      ...this.defaults(),
      ...fields,
      ...(passwordSealed !== undefined ? { password: passwordSealed === null ? null : unseal(this.config.dataKey, passwordSealed) } : {}),
    };
    const effective: EffectiveMailSettings = {
      version, settings,
      source: Object.keys(overrides).length ? 'saved' : 'environment',
      updatedAt: row?.updated_at ?? null,
      updatedBy: row?.updated_by ?? null,
    };
    this.cached = effective;
    return effective;
  }

  async brand(m?: Pick<EntityManager, 'query'>): Promise<Brand> {
    return brandOf((await this.effective(m)).settings);
  }

  /**
   * Save every field in `m`'s transaction (the row is locked, so concurrent saves each get their own
   * version). `password`: undefined keeps the one in force, null removes it, a string replaces it.
   * `null` for `fields` resets to the environment's values.
   */
  async save(m: EntityManager, fields: MailSettingsFields | null, password: string | null | undefined, actorUserId: string | null): Promise<{ version: number; passwordChanged: boolean }> {
    const [current]: { value: StoredMailSettings }[] = await m.query('SELECT value FROM settings WHERE key = $1 FOR UPDATE', [MAIL_SETTINGS_KEY]);
    const previous = current?.value.overrides ?? {};
    const overrides: StoredMailSettings['overrides'] = {};
    if (fields) {
      Object.assign(overrides, fields);
      if (password === undefined) {
        if (previous.passwordSealed !== undefined) overrides.passwordSealed = previous.passwordSealed;
      } else {
        overrides.passwordSealed = password === null ? null : seal(this.config.dataKey, password);
      }
    }
    const passwordChanged = fields ? password !== undefined : previous.passwordSealed !== undefined;
    const version = (current ? Number(current.value.version) : 0) + 1;
    await m.query(
      `INSERT INTO settings (key, value, updated_by) VALUES ($1, $2::jsonb, $3)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(), updated_by = EXCLUDED.updated_by`,
      [MAIL_SETTINGS_KEY, JSON.stringify({ version, overrides } satisfies StoredMailSettings), actorUserId],
    );
    return { version, passwordChanged };
  }
}

import type { EntityManager } from 'typeorm';

/** Settings key: staff must use two-factor sign-in (staff admins set it in the panel). */
export const STAFF_REQUIRE_TWO_FACTOR_KEY = 'security.staff_require_two_factor';

export async function staffRequireTwoFactor(m: Pick<EntityManager, 'query'>): Promise<boolean> {
  const [row]: { value: unknown }[] = await m.query('SELECT value FROM settings WHERE key = $1', [STAFF_REQUIRE_TWO_FACTOR_KEY]);
  return row?.value === true;
}

import { createInterface } from 'node:readline';
import { createDataSource, runMigrations } from './database/data-source.js';
import { hashPassword } from './auth/secrets.js';

/**
 * Operator commands the installer (tools/install) runs with the API's own environment file:
 *   node cli.js migrate         apply every pending migration (DATABASE_URL)
 *   node cli.js create-admin    make the first staff admin (OBLAKO_ADMIN_EMAIL; password on stdin)
 *                               unless a staff admin exists already; prints "created" or "exists"
 * Secrets arrive in the environment or on stdin, never in an argument.
 */
async function readStdinLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line;
  }
  return '';
}

async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is required');
    return 2;
  }
  const cmd = process.argv[2];
  if (cmd === 'migrate') {
    const applied = await runMigrations(url);
    console.log(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'database schema is up to date');
    return 0;
  }
  if (cmd === 'create-admin') {
    const email = (process.env.OBLAKO_ADMIN_EMAIL ?? '').trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      console.error('OBLAKO_ADMIN_EMAIL must be an email address');
      return 2;
    }
    const password = await readStdinLine();
    if (password.length < 12) {
      console.error('the admin password (on stdin) must have at least 12 characters');
      return 2;
    }
    const ds = createDataSource({ url, poolSize: 1 });
    await ds.initialize();
    try {
      const [existing]: { email: string }[] = await ds.query(`SELECT email FROM users WHERE staff_role = 'admin' ORDER BY created_at LIMIT 1`);
      if (existing) {
        console.log(`exists ${existing.email}`);
        return 0;
      }
      const hash = await hashPassword(password);
      await ds.query(`INSERT INTO users (email, password_hash, staff_role, email_verified_at) VALUES ($1, $2, 'admin', now())`, [email, hash]);
      console.log(`created ${email}`);
      return 0;
    } finally {
      await ds.destroy();
    }
  }
  console.error('usage: cli.js migrate | create-admin');
  return 2;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerView } from '@oblako/contracts';
import { ApiClient, startStack, type SeedOptions, type Stack, type StackOptions } from '@oblako/devstack';
import { createTestDatabase, dropStreams, TEST_NATS_URL, uniqueName, uniqueSubjectPrefix, waitFor, type TestDatabase } from '@oblako/testing';

export interface E2E {
  stack: Stack;
  db: TestDatabase;
  admin: ApiClient;
  adminPassword: string;
  close(): Promise<void>;
}

/** The real product as separate processes: API and node daemon, on a throwaway database and NATS prefix. */
export async function startE2E(overrides: Omit<Partial<StackOptions>, 'seed'> & { seed?: Partial<SeedOptions> } = {}): Promise<E2E> {
  const db = await createTestDatabase('oblako_e2e');
  const seed = { adminEmail: 'admin@e2e.test', adminPassword: uniqueName('pw'), ...overrides.seed };
  const adminPassword = seed.adminPassword;
  let stack: Stack;
  try {
    stack = await startStack({
      dataDir: join(tmpdir(), uniqueName('oblako-e2e')),
      databaseUrl: db.url,
      natsUrl: TEST_NATS_URL,
      subjectPrefix: uniqueSubjectPrefix(),
      echo: process.env.E2E_ECHO === '1',
      ...overrides,
      seed,
    });
  } catch (err) {
    await db.drop();
    throw err;
  }
  const admin = new ApiClient(stack.apiUrl);
  await admin.login(seed.adminEmail, adminPassword);
  return {
    stack,
    db,
    admin,
    adminPassword,
    async close() {
      await stack.stop();
      await db.drop();
      if (!stack.nats) await dropStreams(stack.subjectPrefix, stack.natsUrl);
    },
  };
}

/** A new tenant with its owner logged in. */
export async function newCustomer(stack: Stack, label: string): Promise<ApiClient> {
  const c = new ApiClient(stack.apiUrl);
  const email = `${uniqueName(label)}@e2e.test`;
  await c.register(email, 'correct horse battery staple', `${label} Ltd`);
  // Ordering needs a confirmed address: follow the link in the verification mail, as a customer would.
  await stack.verifyEmail(email);
  return c;
}

/** Wait until the server is in `state` with no task still queued or running. */
export async function waitForState(client: ApiClient, id: string, state: string, timeoutMs = 15_000): Promise<ServerView> {
  return waitFor(
    `server ${id} to reach ${state}`,
    async () => {
      const s = await client.ok<ServerView>('GET', `/api/v1/servers/${id}`);
      if (s.state === 'error') throw new Error(`server went to error: ${s.currentTask?.error ?? 'no reason given'}`);
      const busy = s.currentTask && (s.currentTask.state === 'queued' || s.currentTask.state === 'dispatched' || s.currentTask.state === 'running');
      return s.state === state && !busy ? s : undefined;
    },
    { timeoutMs, intervalMs: 20 },
  );
}

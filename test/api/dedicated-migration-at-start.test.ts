import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/adapters/embedded/database.ts';
import { newTenantId, startTestServer, waitForJob } from '../support/server.ts';

/** A database as the previous version left it: every migration but the last. */
function previousVersion(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  const old = new Database(path);
  old.pragma('journal_mode = WAL');
  for (const step of MIGRATIONS.slice(0, -1)) old.exec(step);
  old.pragma(`user_version = ${MIGRATIONS.length - 1}`);
  old.close();
}

const versionOf = (path: string) => {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

/**
 * A dedicated tenant's jobs.sqlite of an older schema (a new version's first start) was migrated on its
 * first use, on a request's or a job's way: a migration that rewrites every row held the API's event loop,
 * every tenant's requests waiting, for as long as its copy took (docs/operations.md, "A schema migration").
 * Now the real server migrates every dedicated tenant's database at start, before it answers anything,
 * waiting for another process's write lock as long as any start's migration does (up to 5 minutes), and logs
 * each one. (The start's outbox drain, since 72e6884, happened to open, and so migrate, each of them too,
 * with a request's 10 s wait and nothing logged; this no longer rests on it.)
 */
describe('dedicated databases of an older schema', () => {
  it('are migrated at start, before the server answers its first request', async () => {
    const first = await startTestServer({ keepData: true });
    const dataDir = first.dataDir;
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      const id = newTenantId('mig');
      const { apiKey } = await first.createTenant(id, { placement: 'dedicated', plan: 'enterprise' });
      await first.stop();
      const path = join(dataDir, 'tenants', id, 'jobs.sqlite');
      previousVersion(path);
      expect(versionOf(path)).toBe(MIGRATIONS.length - 1);

      second = await startTestServer({ dataDir, keepData: true, env: { LOG_LEVEL: 'info' } });
      // Read before any request names the tenant: the start migrated it.
      expect(versionOf(path)).toBe(MIGRATIONS.length);
      expect(second.output()).toContain("migrated a dedicated tenant's database at start");

      const submit = await second.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { revenue: 1_000_000 } }),
      });
      expect(submit.status, await submit.clone().text()).toBe(202);
      const { id: jobId } = (await submit.json()) as { id: string };
      expect((await waitForJob(second, apiKey, jobId, { timeoutMs: 30_000 })).status).toBe('succeeded');
    } finally {
      await second?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { functions, submit, until } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { gone } from './process-group-helpers.ts';

// A dedicated function process ends when its host's IPC channel closes ('disconnect'), but that event
// waits for the event loop, which a model running in the process holds until the job ends. After a
// SIGKILL of the server, an orphan went on running its job to the end (and would until its code stopped,
// with no host left to enforce the time limit), holding the tenant's store beside the next server's own
// process. It now checks its parent at each progress report and ends there, as a SIGKILL would have.
let server: TestServer | undefined;
afterAll(async () => {
  await server?.stop();
});

/** The job's status as its tenant's own store holds it, read with no server running. */
function storedStatus(dataDir: string, tenantId: string, jobId: string): string {
  const db = new Database(join(dataDir, 'tenants', tenantId, 'jobs.sqlite'), { readonly: true });
  try {
    const row = db
      .prepare("SELECT json_extract(doc, '$.status') AS status FROM job_items WHERE sk LIKE ?")
      .get(`JOB#${jobId}%`) as { status: string } | undefined;
    return String(row?.status);
  } finally {
    db.close();
  }
}

it('a dedicated function process orphaned mid-job (its server SIGKILLed) stops the job instead of finishing it', async () => {
  server = await startTestServer({
    env: { SILOPOOL_WORKERS: '1', SILOPOOL_SPARE_FUNCTION_PROCESSES: '0' },
    keepData: true,
  });
  const id = newTenantId('orphan-job');
  const { apiKey } = await server.createTenant(id, { placement: 'dedicated', plan: 'enterprise' });
  // A long run that reports progress as it goes (100,000 simulated paths over 120 quarters).
  const job = await submit(
    server,
    apiKey,
    { simulations: 100_000, fundLifeYears: 30, periodsPerYear: 4 },
    {},
    'funds',
  );
  const s = server;
  await until(
    'the job reports progress',
    async () => {
      const res = await s.api(`/v1/jobs/${job.id}`, { token: apiKey });
      const body = (await res.json()) as { status: string; progress?: { done: number; total: number } };
      return (
        body.status === 'running' && body.progress !== undefined && body.progress.done < body.progress.total
      );
    },
    60_000,
  );
  const pid = (await functions(server)).find((f) => f.tenantId === id && f.model === 'funds')?.pid;
  expect(pid).toBeGreaterThan(1);
  const { dataDir } = server;
  await server.kill();
  server = undefined;
  await until('the orphaned function process ended', async () => gone(pid as number), 120_000);
  // Left running, as after a crash of its process: the next server's recovery runs it again.
  try {
    expect(storedStatus(dataDir, id, job.id)).toBe('running');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 180_000);

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { operation, startMove, submit, until, waitForOperation } from './helpers.ts';

function sharedItems(dataDir: string, tenant: string): number {
  const db = new Database(join(dataDir, 'jobs.sqlite'), { readonly: true });
  try {
    return (
      db.prepare('SELECT count(*) AS n FROM job_items WHERE pk = ?').get(`T#${tenant}`) as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

/** Kill points: right after the move starts, while draining, and after the switch before the cleanup. */
const KILL_AT: { label: string; ready(op: Awaited<ReturnType<typeof operation>>): boolean }[] = [
  { label: 'provisioning', ready: () => true },
  { label: 'draining', ready: (op) => op.steps[2]!.status !== 'pending' },
  { label: 'after the switch', ready: (op) => op.steps[5]!.status === 'done' },
];

describe('a crash mid-move', () => {
  it('resumes on restart at every step and leaves the tenant whole in exactly one place', async () => {
    let server: TestServer = await startTestServer({ env: { SILOPOOL_WORKERS: '2' }, keepData: true });
    const dataDir = server.dataDir;
    try {
      for (const point of KILL_AT) {
        const tenant = newTenantId('crash');
        const { apiKey } = await server.createTenant(tenant);
        const done = await submit(server, apiKey, { revenue: 1 });
        await waitForJob(server, apiKey, done.id);
        // A backlog in the shared lane, so the move has queued jobs to drain.
        const backlog = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            submit(server, apiKey, { simulations: 60_000, seed: i + 1 }, {}, 'funds'),
          ),
        );
        const op = await startMove(server, tenant, 'dedicated');
        await until(
          `kill point ${point.label}`,
          async () => point.ready(await operation(server, op.id)),
          30_000,
        );
        await server.kill();

        server = await startTestServer({ dataDir, env: { SILOPOOL_WORKERS: '2' }, keepData: true });
        const finished = await waitForOperation(server, op.id);
        expect(finished.status, point.label).toBe('succeeded');
        const tenantView = (await (
          await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })
        ).json()) as { placement: string; move?: unknown };
        expect(tenantView.placement).toBe('dedicated');
        expect(tenantView.move).toBeUndefined();
        for (const job of [done, ...backlog]) {
          const final = await waitForJob(server, apiKey, job.id, { timeoutMs: 40_000 });
          expect(final.status, `${point.label}: ${job.id}`).toBe('succeeded');
          expect(final.artifacts).toHaveLength(1);
          const artifact = await server.api(`/v1/jobs/${job.id}/artifacts/workbook.xlsx`, { token: apiKey });
          expect(artifact.status).toBe(200);
          await artifact.arrayBuffer();
        }
        // Whole in one place: nothing in the shared store or objects, everything in its own.
        expect(sharedItems(dataDir, tenant), point.label).toBe(0);
        expect(existsSync(join(dataDir, 'objects', 'tenants', tenant))).toBe(false);
        expect(existsSync(join(dataDir, 'tenants', tenant, 'jobs.sqlite'))).toBe(true);
      }
    } finally {
      await server.stop();
      const { rmSync } = await import('node:fs');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 150_000);
});

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { exportOf, type Operation, startOffboard, submit, waitForOperation } from './helpers.ts';
import { leftovers } from './leftovers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '2' } });
});
afterAll(async () => {
  await server?.stop();
});

describe('offboarding', () => {
  for (const placement of ['shared', 'dedicated'] as const) {
    it(`exports a ${placement} tenant's jobs and artifacts, then nothing of it remains anywhere`, async () => {
      const tenant = newTenantId(`off-${placement.slice(0, 3)}`);
      const { apiKey } = await server.createTenant(tenant, { placement });
      const jobs = [];
      for (let i = 0; i < 3; i++) {
        jobs.push(await submit(server, apiKey, { revenue: 1000 + i }, { 'idempotency-key': `key-${i}` }));
      }
      const finals = await Promise.all(jobs.map((j) => waitForJob(server, apiKey, j.id)));
      const ids = jobs.map((j) => j.id);

      // 202 with the operation; its export is downloaded once it is stored.
      const started = await startOffboard(server, tenant, placement === 'shared' ? 'POST' : 'DELETE');
      expect(started.kind).toBe('offboard');
      const done = (await waitForOperation(server, started.id)) as Operation & {
        export?: { jobs: number };
        check?: { remains: string[] };
      };
      expect(done.status, JSON.stringify(done.steps)).toBe('succeeded');
      expect(done.steps.every((s) => s.status === 'done')).toBe(true);
      expect(done.export?.jobs).toBe(3);
      expect(done.check?.remains).toEqual([]);
      const files = await exportOf(server, started.id);
      expect(JSON.parse(new TextDecoder().decode(files['tenant.json']!)).id).toBe(tenant);
      for (const job of finals) {
        const record = JSON.parse(new TextDecoder().decode(files[`jobs/${job.id}.json`]!));
        expect(record.status).toBe('succeeded');
        const workbook = files[`objects/jobs/${job.id}/workbook.xlsx`]!;
        expect(createHash('sha256').update(workbook).digest('hex')).toBe(
          (job.artifacts as { sha256: string }[])[0]!.sha256,
        );
      }

      // The tenant is gone from the API…
      expect((await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })).status).toBe(
        404,
      );
      expect((await server.api('/v1/jobs', { token: apiKey })).status).toBeGreaterThanOrEqual(401);
      // …and from every store: shared tables (tenants, jobs, keys, queues, messages, scheduling, dedup,
      // other operations; the offboarding itself stays, it holds the export), its dedicated folder, every path.
      expect(leftovers(server.dataDir, [tenant, ...ids], started.id)).toEqual([]);
      expect(existsSync(join(server.dataDir, 'tenants', tenant))).toBe(false);
      // Offboarding it again: the tenant is gone.
      expect(
        (
          await server.api(`/v1/admin/tenants/${tenant}/offboard`, {
            method: 'POST',
            token: server.operatorToken,
          })
        ).status,
      ).toBe(404);
    }, 40_000);
  }
});

import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { submit } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '2' } });
});
afterAll(async () => {
  await server?.stop();
});

/** Every row of every table of a SQLite file that mentions one of `needles`. */
function rowsMentioning(file: string, needles: string[]): string[] {
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    const hits: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all()) {
        const text = JSON.stringify(row);
        for (const needle of needles) if (text.includes(needle)) hits.push(`${name}: ${text.slice(0, 200)}`);
      }
    }
    return hits;
  } finally {
    db.close();
  }
}

function pathsMentioning(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (needles.some((n) => entry.includes(n))) hits.push(entry);
  }
  return hits;
}

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

      const res = await server.api(`/v1/admin/tenants/${tenant}/offboard`, {
        method: 'POST',
        token: server.operatorToken,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/zip');
      const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
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
      // operations), its dedicated folder, and every object path.
      const needles = [tenant, ...ids];
      expect(rowsMentioning(join(server.dataDir, 'silopool.sqlite'), needles)).toEqual([]);
      expect(rowsMentioning(join(server.dataDir, 'jobs.sqlite'), needles)).toEqual([]);
      expect(existsSync(join(server.dataDir, 'tenants', tenant))).toBe(false);
      expect(pathsMentioning(server.dataDir, needles)).toEqual([]);
    }, 40_000);
  }
});

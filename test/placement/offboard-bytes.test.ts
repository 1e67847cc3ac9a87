import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { startMove, startOffboard, submit, waitForOperation } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '2' } });
});
afterAll(async () => {
  await server?.stop();
});

/** Every file under `dir` (but `skip`) whose bytes hold `needle`, as a path relative to `dir`. */
function filesHolding(dir: string, needle: string, skip: (path: string) => boolean): string[] {
  const bytes = Buffer.from(needle, 'utf8');
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (skip(entry)) continue;
    const path = join(dir, entry);
    try {
      if (!statSync(path).isFile()) continue;
      if (readFileSync(path).includes(bytes)) hits.push(entry);
    } catch {
      // Removed while walking (a temp file renamed, a WAL checkpointed away): nothing to read.
    }
  }
  return hits;
}

// The row-level check (offboard.test.ts) reads the tables through SQLite; a copy of DATA_DIR (a backup, a
// disk image) carries the files' bytes: deleted rows left in free pages, and the old page images in the
// write-ahead log until it is overwritten. An offboarded tenant's inputs must be in neither.
/** A shared tenant with three finished jobs carrying text only it sent, found in DATA_DIR's bytes. */
async function sharedTenantWithMarkedJobs(prefix: string) {
  const tenant = newTenantId(prefix);
  const { apiKey } = await server.createTenant(tenant, { placement: 'shared' });
  // Text only the tenant sent: an Idempotency-Key (stored with its job) and an odd revenue figure.
  const marker = `erase-me-${randomBytes(8).toString('hex')}`;
  const revenue = 7_314_159.26535;
  const jobs = [];
  for (let i = 0; i < 3; i++)
    jobs.push(await submit(server, apiKey, { revenue }, { 'idempotency-key': `${marker}-${i}` }));
  for (const job of jobs) expect((await waitForJob(server, apiKey, job.id)).status).toBe('succeeded');
  // Before: the bytes are there (the scan finds what it looks for).
  expect(filesHolding(server.dataDir, marker, () => false).length).toBeGreaterThan(0);
  return { tenant, needles: [marker, String(revenue)] };
}

describe("a shared tenant's data erased from the shared store", () => {
  it('by offboarding: none of its inputs in the bytes of any file (database pages, write-ahead logs)', async () => {
    const { tenant, needles } = await sharedTenantWithMarkedJobs('off-bytes');
    const started = await startOffboard(server, tenant);
    expect((await waitForOperation(server, started.id)).status).toBe('succeeded');
    // The offboarding's own export holds them on purpose (the operator hands it to the tenant).
    const exports = (path: string) => path.startsWith('exports') || path.includes('/exports/');
    for (const needle of needles) expect(filesHolding(server.dataDir, needle, exports)).toEqual([]);
  }, 60_000);

  it('by offboarding, beside a tenant whose records share its pages: none of its inputs in any file', async () => {
    // Ids that sort next to each other: their job records share the job database's pages. A record
    // rewritten as its job ran (queued, running, succeeded) left its old copy in the page's free space,
    // which the erase (secure_delete zeroes only what it deletes) never reached.
    const base = newTenantId('off-nb');
    const leaving = `${base}-a`;
    const staying = `${base}-b`;
    const { apiKey: leavingKey } = await server.createTenant(leaving, { placement: 'shared' });
    const { apiKey: stayingKey } = await server.createTenant(staying, { placement: 'shared' });
    const marker = `erase-me-${randomBytes(8).toString('hex')}`;
    const jobs: [string, { id: string }][] = [];
    for (let i = 0; i < 4; i++) {
      jobs.push([
        leavingKey,
        await submit(
          server,
          leavingKey,
          { revenue: 5_271_009.125 + i },
          { 'idempotency-key': `${marker}-${i}` },
        ),
      ]);
      jobs.push([stayingKey, await submit(server, stayingKey, { revenue: 1_000_000 + i })]);
    }
    for (const [key, job] of jobs) expect((await waitForJob(server, key, job.id)).status).toBe('succeeded');
    expect(filesHolding(server.dataDir, marker, () => false).length).toBeGreaterThan(0);
    const started = await startOffboard(server, leaving);
    expect((await waitForOperation(server, started.id)).status).toBe('succeeded');
    const exports = (path: string) => path.startsWith('exports') || path.includes('/exports/');
    for (const needle of [marker, '5271009.125'])
      expect(filesHolding(server.dataDir, needle, exports), needle).toEqual([]);
  }, 90_000);

  it("by offboarding: none of its settings (the tenant record) in any file's bytes", async () => {
    // The tenant record (its settings: rules, formatting, webhook) is in silopool.sqlite, rewritten on every
    // settings change and key use; its removal, last, was a plain DELETE with no checkpoint after it.
    const tenant = newTenantId('off-rec');
    const marker = `Erase Me ${randomBytes(8).toString('hex')} Ltd`;
    const { apiKey } = await server.createTenant(tenant, {
      placement: 'shared',
      config: { formatting: { companyName: marker } },
    });
    const job = await submit(server, apiKey, { revenue: 1_234_567 });
    expect((await waitForJob(server, apiKey, job.id)).status).toBe('succeeded');
    expect(filesHolding(server.dataDir, marker, () => false).length).toBeGreaterThan(0);
    const started = await startOffboard(server, tenant);
    expect((await waitForOperation(server, started.id)).status).toBe('succeeded');
    const exports = (path: string) => path.startsWith('exports') || path.includes('/exports/');
    expect(filesHolding(server.dataDir, marker, exports)).toEqual([]);
  }, 60_000);

  it('by its promotion: none of its inputs left in the shared files, only in its own folder', async () => {
    const { tenant, needles } = await sharedTenantWithMarkedJobs('mv-bytes');
    const move = await startMove(server, tenant, 'dedicated');
    expect((await waitForOperation(server, move.id)).status).toBe('succeeded');
    const own = (path: string) => path.startsWith(join('tenants', tenant));
    for (const needle of needles) {
      expect(filesHolding(server.dataDir, needle, own)).toEqual([]);
      expect(
        filesHolding(join(server.dataDir, 'tenants', tenant), needle, () => false).length,
      ).toBeGreaterThan(0);
    }
  }, 60_000);
});

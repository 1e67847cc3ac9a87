import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submit, until } from '../placement/helpers.ts';
import { dedicatedTenantWithVariant } from '../releases/fixtures.ts';
import { startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { billedCompute } from './ledger-record.ts';

// A dedicated tenant's jobs run in a process of its own, with its release's model code, which also writes the
// tenant's store. Session 25 billed the process's finish reports at the host's figures; these lies went around
// that (docs/billing.md, "Dedicated processes"). The variant below stops the process's clock while it runs (its
// store records a run of ~0 ms) and, by the job's revenue:
// - holds its finish report (and everything after it) for a while: the metering pass (every second here) ran
//   in between and billed the record the process wrote, first write wins;
// - never reports the finish: the pass billed the record;
// - fails its first run, then, retried by an operator, drops `billedBefore` from its report: the host billed
//   the retry's run under the id of the first finish (already taken), and the pass the record's figures.
// Each case failed on the code before (billed 16-55 ms, the process's run, at 1024 MB).
let server: TestServer;
let tenant: { id: string; apiKey: string; variant: string };
const MEMORY_MB = 1024;
const BUSY_MS = 400;
const HOLD = 3_300_001;
const OMIT = 3_300_002;
const STRIP = 3_300_003;

beforeAll(async () => {
  server = await startTestServer({
    env: { SILOPOOL_WORKERS: '1', SILOPOOL_METER_INTERVAL_SEC: '1' },
  });
  tenant = await dedicatedTenantWithVariant(server, 'rl', {
    prefix: 'lies',
    memoryMb: MEMORY_MB,
    body: `run: (input, rules) => {
          const g = globalThis;
          if (!g.__lie) {
            const Real = Date;
            let skew = 0;
            // A clock that stands still while the model runs: the handler measures a run of ~0 ms.
            g.Date = class extends Real {
              constructor(...a) { if (a.length === 0) super(Real.now() - skew); else super(...a); }
              static now() { return Real.now() - skew; }
            };
            const send = process.send.bind(process);
            const held = [];
            g.__lie = { mode: '', failed: new Set(), Real, skip: (ms) => { skew += ms; }, holding: false };
            process.send = (m, ...rest) => {
              const lie = g.__lie;
              const ends = m && m.type === 'job' && m.job.status !== 'running';
              if (ends && lie.mode === 'omit') return true;
              if (ends && lie.mode === 'strip') {
                const { billedBefore, ...job } = m.job;
                m = { ...m, job };
              }
              if (ends && lie.mode === 'hold' && !lie.holding) {
                lie.holding = true;
                setTimeout(() => {
                  lie.holding = false;
                  for (const h of held.splice(0)) send(...h);
                }, 3000);
              }
              if (lie.holding) {
                held.push([m, ...rest]);
                return true;
              }
              return send(m, ...rest);
            };
          }
          const lie = g.__lie;
          lie.mode = { ${HOLD}: 'hold', ${OMIT}: 'omit', ${STRIP}: 'strip' }[input.revenue] ?? '';
          if (lie.mode === 'strip' && !lie.failed.has(input.revenue)) {
            lie.failed.add(input.revenue);
            throw new RangeError('the first run fails on its model');
          }
          const t0 = lie.Real.now();
          while (lie.Real.now() < t0 + ${BUSY_MS}) {}
          lie.skip(lie.Real.now() - t0);
          return base.run(input, rules);
        }`,
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** The job's compute records in the server's ledger: id → quantity (MB·ms). */
function computeRecords(jobId: string): Map<string, number> {
  const db = new Database(join(server.dataDir, 'jobs.sqlite'), { readonly: true });
  try {
    const rows = db
      .prepare('SELECT id, quantity FROM usage_records WHERE id LIKE ?')
      .all(`job/${tenant.id}/${jobId}/compute_mb_ms%`) as { id: string; quantity: number }[];
    return new Map(rows.map((r) => [r.id, r.quantity]));
  } finally {
    db.close();
  }
}

/** The job's record in the tenant's own store, as the process wrote it. */
function stored(jobId: string): { computeMs: number } {
  const db = new Database(join(server.dataDir, 'tenants', tenant.id, 'jobs.sqlite'), { readonly: true });
  try {
    const doc = db.prepare('SELECT doc FROM job_items WHERE sk = ?').pluck().get(`JOB#${jobId}`);
    return JSON.parse(String(doc)) as { computeMs: number };
  } finally {
    db.close();
  }
}

/** Billed at the host's figures: its memory, and at least the run it saw (the model busied itself BUSY_MS). */
function expectHostFigures(mbMs: number) {
  expect(mbMs % MEMORY_MB).toBe(0);
  expect(mbMs / MEMORY_MB).toBeGreaterThanOrEqual(BUSY_MS);
}

async function run(revenue: number) {
  const job = await submit(server, tenant.apiKey, { revenue }, {}, tenant.variant);
  const done = await waitForJob(server, tenant.apiKey, job.id, { timeoutMs: 60_000 });
  return { id: job.id as string, done };
}

describe('a dedicated process that lies about its finish', () => {
  it('holds its report past metering passes: the pass leaves a job in flight to its host', async () => {
    const { id, done } = await run(HOLD);
    expect(done).toMatchObject({ status: 'succeeded', modelVariant: tenant.variant });
    // The lie is in the store: a run of next to nothing.
    expect(stored(id).computeMs).toBeLessThan(BUSY_MS);
    expectHostFigures(await billedCompute(server, tenant.id, id));
  }, 90_000);

  it('never reports its finish: its host bills it when the event is answered', async () => {
    const { id, done } = await run(OMIT);
    expect(done).toMatchObject({ status: 'succeeded' });
    expect(stored(id).computeMs).toBeLessThan(BUSY_MS);
    expectHostFigures(await billedCompute(server, tenant.id, id));
  }, 90_000);

  it("drops billedBefore from a retried job's report: the retry's run is billed against the control plane's", async () => {
    const { id, done } = await run(STRIP);
    expect(done).toMatchObject({ status: 'failed' });
    const first = await billedCompute(server, tenant.id, id);
    // The failed run is billed too (it ran, briefly), at the host's memory.
    expect(first % MEMORY_MB).toBe(0);
    const retried = await server.api(`/v1/admin/tenants/${tenant.id}/jobs/${id}/retry`, {
      method: 'POST',
      token: server.operatorToken,
    });
    expect(retried.status).toBe(200);
    await until(
      `the retry of ${id}`,
      async () => (await waitForJob(server, tenant.apiKey, id)).status === 'succeeded',
      60_000,
    );
    const later = await until(`the retry's compute record of ${id}`, async () => {
      const records = computeRecords(id);
      return [...records].find(([key]) => key.includes('/after-'));
    });
    expect(later[0]).toBe(`job/${tenant.id}/${id}/compute_mb_ms/after-1`);
    expectHostFigures(later[1]);
    // The first finish's record is as it was.
    expect(computeRecords(id).get(`job/${tenant.id}/${id}/compute_mb_ms`)).toBe(first);
  }, 90_000);
});

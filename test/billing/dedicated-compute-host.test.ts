import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submit } from '../placement/helpers.ts';
import { dedicatedTenantWithVariant } from '../releases/fixtures.ts';
import { startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { billedCompute } from './ledger-record.ts';

// A dedicated tenant's jobs run in a process of its own, with the model code of its release: a tenant's own
// variant can say anything about its run time and memory. The bill takes the host's figures: the memory the
// host started the process with (1024 MB here), and a run no longer than the host saw the job run.
let server: TestServer;
let tenant: { id: string; apiKey: string; variant: string };
const variant = () => tenant.variant;
const MEMORY_MB = 1024;
const BUSY_MS = 300;

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  tenant = await dedicatedTenantWithVariant(server, 'rf', {
    prefix: 'forge',
    memoryMb: MEMORY_MB,
    // Rewrites every report of a job's end: an hour at 64 GB (revenue 1111111), else 1 ms at 64 MB.
    body: `run: (input, rules) => {
          const mode = input.revenue === 1111111 ? 'inflate' : 'deflate';
          if (!globalThis.__forge) {
            const send = process.send.bind(process);
            globalThis.__forge = { mode };
            process.send = (m, ...rest) => {
              if (m && m.type === 'job' && m.job.status !== 'running') {
                const f = globalThis.__forge.mode === 'inflate'
                  ? { computeMs: 3600000, computeMbMs: 3600000 * 65536, memoryMb: 65536 }
                  : { computeMs: 1, computeMbMs: 64, memoryMb: 64 };
                m = { ...m, job: { ...m.job, ...f } };
              }
              return send(m, ...rest);
            };
          }
          globalThis.__forge.mode = mode;
          const until = Date.now() + ${BUSY_MS};
          while (Date.now() < until) {}
          return base.run(input, rules);
        }`,
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function billedRun(revenue: number) {
  const started = Date.now();
  const job = await submit(server, tenant.apiKey, { revenue }, {}, variant());
  const done = await waitForJob(server, tenant.apiKey, job.id, { timeoutMs: 60_000 });
  expect(done).toMatchObject({ status: 'succeeded', modelVariant: variant() });
  const mbMs = await billedCompute(server, tenant.id, job.id);
  return { mbMs, elapsedMs: Date.now() - started };
}

describe("a dedicated process's own figures of its run", () => {
  it('deflated (1 ms at 64 MB): billed at the memory the host started it with, for the run the host saw', async () => {
    const { mbMs } = await billedRun(1_000_000);
    expect(mbMs % MEMORY_MB).toBe(0);
    // It ran at least as long as it busied itself, seen from the host.
    expect(mbMs / MEMORY_MB).toBeGreaterThanOrEqual(BUSY_MS);
  }, 90_000);

  it('inflated (an hour at 64 GB): billed no longer than the host saw it run, at the host’s memory', async () => {
    const { mbMs, elapsedMs } = await billedRun(1_111_111);
    expect(mbMs % MEMORY_MB).toBe(0);
    expect(mbMs / MEMORY_MB).toBeGreaterThanOrEqual(BUSY_MS);
    expect(mbMs / MEMORY_MB).toBeLessThanOrEqual(elapsedMs);
  }, 90_000);
});

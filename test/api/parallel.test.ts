import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModel } from '../../src/models/registry.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('a 10,000-path simulation', () => {
  it('runs in parts on every core, matches the single-threaded run and does not hold up small jobs', async () => {
    const big = newTenantId('big');
    const small = newTenantId('small');
    const bigKey = (await server.createTenant(big)).apiKey;
    const smallKey = (await server.createTenant(small)).apiKey;
    const input = { simulations: 10_000, growthVolatility: 0.2, seed: 42, periodsPerYear: 4 };
    const submitted = await server.api('/v1/models/funds/jobs', {
      method: 'POST',
      token: bigKey,
      body: JSON.stringify({ input }),
    });
    const bigJob = (await submitted.json()) as { id: string; effectiveInput: unknown };
    await new Promise((r) => setTimeout(r, 150));
    const quick = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: smallKey,
      body: '{"input":{}}',
    });
    const quickId = ((await quick.json()) as { id: string }).id;

    const computeProcesses = () => {
      try {
        return execFileSync('ps', ['-o', 'args=', '--ppid', String(server.process.pid)], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => l.includes('compute-process')).length;
      } catch {
        return 0; // ps exits 1 when the server has no child processes at that moment
      }
    };
    let seen = 0;
    const deadline = Date.now() + 30_000;
    let bigDone: Record<string, unknown> | undefined;
    while (!bigDone && Date.now() < deadline) {
      seen = Math.max(seen, computeProcesses());
      const job = (await (await server.api(`/v1/jobs/${bigJob.id}`, { token: bigKey })).json()) as Record<
        string,
        unknown
      >;
      if (job.status === 'succeeded' || job.status === 'failed') bigDone = job;
      else await new Promise((r) => setTimeout(r, 50));
    }
    expect(bigDone?.status).toBe('succeeded');
    expect(seen).toBeGreaterThanOrEqual(2);

    const quickDone = await waitForJob(server, smallKey, quickId);
    expect(Date.parse(String(quickDone.finishedAt))).toBeLessThan(Date.parse(String(bigDone!.finishedAt)));

    const funds = getModel('funds');
    const expected = funds.summary(funds.run(bigJob.effectiveInput as never, {}), {});
    expect((bigDone!.summary as { simulation: unknown }).simulation).toEqual(
      JSON.parse(JSON.stringify((expected as { simulation: unknown }).simulation)),
    );
  }, 60_000);
});

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
    const readBig = async () => {
      seen = Math.max(seen, computeProcesses());
      return (await (await server.api(`/v1/jobs/${bigJob.id}`, { token: bigKey })).json()) as Record<
        string,
        unknown
      >;
    };
    const done = (job: Record<string, unknown>) => job.status === 'succeeded' || job.status === 'failed';
    const deadline = Date.now() + 30_000;
    // The small job is submitted once the big one runs in parts on every core (not after a fixed pause,
    // which a loaded machine could stretch past the big job's start or its end).
    let bigNow = await readBig();
    while (seen < 2 && !done(bigNow) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      bigNow = await readBig();
    }
    expect(seen).toBeGreaterThanOrEqual(2);
    expect(bigNow.status).toBe('running');
    const quick = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: smallKey,
      body: '{"input":{}}',
    });
    const quickId = ((await quick.json()) as { id: string }).id;

    while (!done(bigNow) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      bigNow = await readBig();
    }
    const bigDone = bigNow;
    expect(bigDone.status).toBe('succeeded');

    // Submitted while the big job held every core, the small one still finished first: it did not wait.
    const quickDone = await waitForJob(server, smallKey, quickId);
    expect(Date.parse(String(quickDone.finishedAt))).toBeLessThan(Date.parse(String(bigDone.finishedAt)));

    const funds = getModel('funds');
    const expected = funds.summary(funds.run(bigJob.effectiveInput as never, {}), {});
    expect((bigDone.summary as { simulation: unknown }).simulation).toEqual(
      JSON.parse(JSON.stringify((expected as { simulation: unknown }).simulation)),
    );
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { checkChaos } from './checker.ts';
import { newLedger } from './support.ts';

/**
 * A function that dies on every attempt: a dedicated tenant whose function may run 1 s, given a funds job
 * that takes longer, so each delivery's process is killed at its timeout (as Lambda ends a sandbox). The
 * queue dead-letters the message after its receives; the job must end `failed` with the reason, its event
 * stream must end, and a redrive must put it back with what its message carried.
 */
// About 4 s of work in one process (100,000 paths, quarterly), against a 1 s limit.
const LONG_FUNDS = { simulations: 100_000, periodsPerYear: 4, seed: 7 };

interface DeadLetterView {
  body: string;
  receiveCount: number;
  priority?: number;
  cost?: number;
}

describe('a job whose every delivery dies', () => {
  let server: TestServer;
  let tenant: string;
  let apiKey: string;

  beforeAll(async () => {
    server = await startTestServer({ env: { SILOPOOL_MAX_RECEIVES: '2' } });
    tenant = newTenantId('die');
    ({ apiKey } = await server.createTenant(tenant, {
      placement: 'dedicated',
      config: { function: { timeoutSec: 1 } },
    }));
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  const deadLetters = async (): Promise<DeadLetterView[]> => {
    const res = await server.api(`/v1/admin/dead-letters?queue=tenant_${tenant}_funds`, {
      token: server.operatorToken,
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: DeadLetterView[] }).items;
  };

  /** Reads the job's SSE stream to its end; resolves with the statuses it announced. */
  const streamOf = async (jobId: string): Promise<string[]> => {
    const res = await server.api(`/v1/jobs/${jobId}/events`, { token: apiKey });
    expect(res.status).toBe(200);
    const text = await res.text();
    return [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as { status: string }).status);
  };

  it('settles the job as failed with the dead-letter reason, ends its stream, and redrives it intact', async () => {
    const submit = await server.api('/v1/models/funds/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: LONG_FUNDS, priority: 3 }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const stream = streamOf(id);

    const failed = await waitForJob(server, apiKey, id, { timeoutMs: 60_000 });
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'dead_lettered' });
    expect(String((failed.error as { message: string }).message)).toContain('after 2 receives');
    // The stream ended by itself, with the final status last.
    expect((await stream).at(-1)).toBe('failed');

    const [letter, ...others] = await deadLetters();
    expect(others).toEqual([]);
    expect(JSON.parse(letter!.body)).toMatchObject({ jobId: id });
    expect(letter!.priority).toBe(3);
    expect(letter!.cost).toBeGreaterThan(1);

    const redrive = await server.api('/v1/admin/dead-letters/redrive', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ queue: `tenant_${tenant}_funds` }),
    });
    expect(await redrive.json()).toEqual({ moved: 1 });
    const back = (await (await server.api(`/v1/jobs/${id}`, { token: apiKey })).json()) as Record<
      string,
      unknown
    >;
    expect(['queued', 'running']).toContain(back.status);
    expect(back.error).toBeUndefined();
    expect(back.priority).toBe(3);

    // It dies again, and comes back to the dead-letter queue as it was sent the first time.
    const again = await waitForJob(server, apiKey, id, { timeoutMs: 60_000 });
    expect(again.error).toMatchObject({ code: 'dead_lettered' });
    const [second] = await deadLetters();
    expect({ priority: second!.priority, cost: second!.cost }).toEqual({
      priority: letter!.priority,
      cost: letter!.cost,
    });

    // Counted once the settler is done with the letter (announced, outbox record gone): a moment after the
    // job reads failed (docs/operations.md, Visibility).
    await expect
      .poll(async () => (await server.api('/metrics', { token: server.operatorToken })).text(), {
        timeout: 10_000,
      })
      .toContain(`silopool_jobs_recovered_total{tenant="${tenant}",action="dead_letter_settled"} 2`);

    // Every store agrees: the job failed as dead-lettered, once, its letter visible and its stream ended.
    const ledger = newLedger();
    ledger.tenants.push({ id: tenant, apiKey, placement: 'dedicated' });
    ledger.accepted.push({ tenantId: tenant, jobId: id });
    await checkChaos(server, ledger, { terminalWithinMs: 10_000, allowedFailures: ['dead_lettered'] });
  }, 150_000);
});

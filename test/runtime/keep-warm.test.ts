import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

type Fn = { tenantId: string; model: string; state: string; pid?: number; coldStarts: number };
const functionsOf = async (tenantId: string): Promise<Fn[]> =>
  (
    (await (await server.api('/v1/admin/functions', { token: server.operatorToken })).json()) as {
      items: Fn[];
    }
  ).items
    .filter((f) => f.tenantId === tenantId)
    .sort((a, b) => a.model.localeCompare(b.model));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`never: ${what}`);
}

describe('provisioned concurrency (keep a dedicated tenant warm)', () => {
  it('starts the processes before any job, keeps them past the idle timeout, and lets them go when set to 0', async () => {
    const tenant = newTenantId('warm');
    await server.createTenant(tenant, {
      placement: 'dedicated',
      config: { function: { idleTimeoutSec: 1, provisionedConcurrency: 1 } },
    });
    await until(async () => {
      const fns = await functionsOf(tenant);
      return fns.length > 0 && fns.every((f) => f.state === 'warm' && f.pid !== undefined);
    }, 'every function of the tenant warm without a job');
    // Right after onboarding the host may open the tenant's lanes once more (its release is recorded
    // then): compare from a settled moment.
    let before = await functionsOf(tenant);
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      const now = await functionsOf(tenant);
      if (JSON.stringify(now.map((f) => f.pid)) === JSON.stringify(before.map((f) => f.pid))) break;
      before = now;
    }
    await sleep(2500);
    const after = await functionsOf(tenant);
    // Past the 1 s idle timeout: the same processes, still warm, not started again.
    expect(after.map((f) => [f.state, f.pid, f.coldStarts])).toEqual(
      before.map((f) => ['warm', f.pid, f.coldStarts]),
    );

    const res = await server.api(`/v1/admin/tenants/${tenant}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: JSON.stringify({ config: { function: { idleTimeoutSec: 1, provisionedConcurrency: 0 } } }),
    });
    expect(res.status).toBe(200);
    await until(async () => (await functionsOf(tenant)).every((f) => f.state === 'cold'), 'scaled to zero');
  });

  it('refuses a value out of range with a 400 naming the field', async () => {
    const res = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({
        id: newTenantId('warm'),
        name: 'W',
        config: { function: { provisionedConcurrency: -1 } },
      }),
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('provisionedConcurrency');
  });
});

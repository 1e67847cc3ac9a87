import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// A billing write sent again after the server committed it (the client timed out, a script retries) under
// the same Idempotency-Key is one write, answered as the first time; the key with another body is refused.
let server: TestServer;
let tenant: string;
const month = new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  tenant = newTenantId('idem');
  await server.createTenant(tenant);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const post = (path: string, body: unknown, key?: string) =>
  server.api(path, {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify(body),
    ...(key ? { headers: { 'idempotency-key': key } } : {}),
  });

async function statementTotal(): Promise<number> {
  const res = await server.api(`/v1/admin/tenants/${tenant}/statements/${month}`, {
    token: server.operatorToken,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { total: number }).total;
}

describe('Idempotency-Key on billing writes', () => {
  it('a correction sent twice with one key is one correction, and the second answer is the first', async () => {
    const before = await statementTotal();
    const path = `/v1/admin/tenants/${tenant}/adjustments`;
    const body = { amount: -1234, reason: 'credit for an outage' };
    const first = await post(path, body, 'corr-1');
    const second = await post(path, body, 'corr-1');
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(await second.text()).toBe(await first.text());
    expect(await statementTotal()).toBe(before - 1234);

    // The key with another body: refused, nothing written.
    const reused = await post(path, { ...body, amount: -99 }, 'corr-1');
    expect(reused.status).toBe(409);
    expect(reused.headers.get('content-type')).toContain('application/problem+json');
    expect(await reused.json()).toMatchObject({ code: 'idempotency_key_reused' });
    // Without a key each request is its own correction, as before; a malformed key is a 400.
    expect((await post(path, body)).status).toBe(201);
    expect(await statementTotal()).toBe(before - 2 * 1234);
    const bad = await post(path, body, 'not a key!');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ errors: [{ path: '/headers/idempotency-key' }] });
  });

  it('a plan change replayed with its key after a later change does not undo the later one', async () => {
    const plans = (await (
      await server.api('/v1/admin/billing/plans', { token: server.operatorToken })
    ).json()) as { plans: { id: string }[] };
    const [a, b] = plans.plans.map((p) => p.id).filter((id) => id !== 'free');
    const path = `/v1/admin/tenants/${tenant}/plan`;
    const first = await post(path, { planId: a }, 'plan-1');
    expect(first.status).toBe(200);
    expect((await post(path, { planId: b }, 'plan-2')).status).toBe(200);
    const replay = await post(path, { planId: a }, 'plan-1');
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe(await first.text());
    const t = (await (
      await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })
    ).json()) as { plan: string };
    const bTier = (await (
      await server.api('/v1/admin/billing/plans', { token: server.operatorToken })
    ).json()) as {
      plans: { id: string; tier: string }[];
    };
    expect(t.plan).toBe(bTier.plans.find((p) => p.id === b)!.tier);
    const reused = await post(path, { planId: b }, 'plan-1');
    expect(reused.status).toBe(409);
    expect(await reused.json()).toMatchObject({ code: 'idempotency_key_reused' });
  });
});

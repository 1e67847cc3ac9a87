import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// Idempotency-Key on billing writes, attacked as operators and scripts would: racing repeats, one key
// for two tenants, the same key on the other route, bodies that differ only in key order, odd keys.
let server: TestServer;
let a: string;
let b: string;
const month = new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  a = newTenantId('ida');
  b = newTenantId('idb');
  await server.createTenant(a);
  await server.createTenant(b);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const post = (path: string, body: string, key?: string) =>
  server.api(path, {
    method: 'POST',
    token: server.operatorToken,
    body,
    ...(key !== undefined ? { headers: { 'idempotency-key': key } } : {}),
  });

/** The adjustment lines of the tenant's statement of this month. */
async function adjustments(tenant: string): Promise<{ kind: string; amount: number }[]> {
  const res = await server.api(`/v1/admin/tenants/${tenant}/statements/${month}`, {
    token: server.operatorToken,
  });
  expect(res.status).toBe(200);
  const { lines } = (await res.json()) as { lines: { kind: string; amount: number }[] };
  return lines.filter((l) => l.kind === 'adjustment');
}

describe('Idempotency-Key attacked', () => {
  it('eight racing repeats of one correction make one correction and give one answer', async () => {
    const path = `/v1/admin/tenants/${a}/adjustments`;
    const body = JSON.stringify({ amount: -700, reason: 'race' });
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(path, body, 'race-1')));
    const texts = await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect(new Set(texts).size).toBe(1);
    expect((await adjustments(a)).filter((x) => x.amount === -700)).toHaveLength(1);
  });

  it('a refused request (a 4xx) saves nothing: the corrected request may use its key', async () => {
    const path = `/v1/admin/tenants/${a}/adjustments`;
    // Refused inside the write (amount 0, then a month with no statement for the tenant): the key stays free.
    const zero = await post(path, JSON.stringify({ amount: 0, reason: 'typo' }), 'fix-1');
    expect(zero.status).toBe(400);
    const early = await post(path, JSON.stringify({ amount: -5, reason: 'typo', month: '2001-01' }), 'fix-1');
    expect(early.status).toBe(404);
    const fixed = await post(path, JSON.stringify({ amount: -5, reason: 'typo' }), 'fix-1');
    expect(fixed.status).toBe(201);
    const again = await post(path, JSON.stringify({ amount: -5, reason: 'typo' }), 'fix-1');
    expect(await again.text()).toBe(await fixed.text());
    expect((await adjustments(a)).filter((x) => x.amount === -5)).toHaveLength(1);
  });

  it('a body that differs only in key order is the same request', async () => {
    const path = `/v1/admin/tenants/${a}/adjustments`;
    const first = await post(path, '{"amount":-11,"reason":"order"}', 'order-1');
    const again = await post(path, '{"reason":"order","amount":-11}', 'order-1');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(await again.text()).toBe(await first.text());
  });

  it("one key for two tenants: the second is refused and told nothing of the first's request", async () => {
    const body = JSON.stringify({ amount: -5, reason: 'shared key' });
    expect((await post(`/v1/admin/tenants/${a}/adjustments`, body, 'shared-1')).status).toBe(201);
    const other = await post(`/v1/admin/tenants/${b}/adjustments`, body, 'shared-1');
    expect(other.status).toBe(409);
    const text = await other.text();
    expect(JSON.parse(text)).toMatchObject({ code: 'idempotency_key_reused' });
    expect(text).not.toContain(a);
    expect((await adjustments(b)).filter((x) => x.amount === -5)).toHaveLength(0);
  });

  it('the same key on the plan route is its own: it neither replays nor refuses the correction', async () => {
    const plans = (await (
      await server.api('/v1/admin/billing/plans', { token: server.operatorToken })
    ).json()) as { plans: { id: string }[] };
    const planId = plans.plans.map((p) => p.id).find((id) => id !== 'free')!;
    const corr = await post(`/v1/admin/tenants/${b}/adjustments`, '{"amount":-3,"reason":"x"}', 'both-1');
    expect(corr.status).toBe(201);
    const plan = await post(`/v1/admin/tenants/${b}/plan`, JSON.stringify({ planId }), 'both-1');
    expect(plan.status).toBe(200);
    expect(((await plan.json()) as { assignment: { planId: string } }).assignment.planId).toBe(planId);
  });

  it('odd keys are a 400 naming the header, never a 500, and write nothing', async () => {
    const path = `/v1/admin/tenants/${a}/adjustments`;
    const before = (await adjustments(a)).length;
    // (fetch sends no header value beyond Latin-1: `é` as one byte stands for the non-ASCII keys.)
    for (const key of ['', ' ', 'x'.repeat(129), 'a b', 'clé', 'a#b', 'a/b', 'a\tb', 'a,b']) {
      const res = await post(path, '{"amount":-1,"reason":"odd"}', key);
      expect(res.status, JSON.stringify(key)).toBe(400);
      expect(await res.json()).toMatchObject({
        code: 'validation_failed',
        errors: [{ path: '/headers/idempotency-key' }],
      });
    }
    // 128 characters is a key; a huge one is refused before anything is read or written.
    expect((await post(path, '{"amount":-1,"reason":"long"}', 'k'.repeat(128))).status).toBe(201);
    const huge = await post(path, '{"amount":-1,"reason":"huge"}', 'k'.repeat(8000));
    expect(huge.status).toBe(400);
    expect((await adjustments(a)).length).toBe(before + 1);
  });
});

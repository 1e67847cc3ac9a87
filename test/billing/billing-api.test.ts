import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteUsageLedger } from '../../src/adapters/embedded/usage-ledger.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { storageDayRecord, type UsageRecord } from '../../src/core/usage.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/** A stand-in for a billing provider: checks each event's shape and counts each identifier once, as Stripe does. */
function startStubProvider() {
  const seen = new Map<string, number>();
  const problems: string[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { events } = JSON.parse(body) as { events: Record<string, unknown>[] };
    for (const e of events) {
      const payload = e.payload as Record<string, unknown> | undefined;
      const ok =
        typeof e.event_name === 'string' &&
        typeof e.identifier === 'string' &&
        e.identifier.length <= 100 &&
        Number.isInteger(e.timestamp) &&
        typeof payload?.stripe_customer_id === 'string' &&
        /^\d+$/.test(String(payload?.value));
      if (!ok) problems.push(JSON.stringify(e));
      else if (!seen.has(e.identifier as string)) seen.set(e.identifier as string, Number(payload!.value));
    }
    res.writeHead(200).end('{}');
  });
  return {
    seen,
    problems,
    listen: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () =>
          r(`http://127.0.0.1:${(server.address() as AddressInfo).port}/meter-events`),
        ),
      ),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const provider = startStubProvider();
let server: TestServer;
let ledger: ReturnType<typeof createSqliteUsageLedger>;
let db: ReturnType<typeof openDatabase>;
let plansDir: string;

beforeAll(async () => {
  const url = await provider.listen();
  plansDir = mkdtempSync(join(tmpdir(), 'silopool-plans-'));
  const plansFile = join(plansDir, 'plans.yaml');
  writeFileSync(
    plansFile,
    `plans:\n${DEFAULT_PLANS.plans.map((p) => `  - ${JSON.stringify(p)}`).join('\n')}\n  - { id: growth, name: Growth, tier: standard, currency: USD, baseFee: 90000 }\n`,
  );
  server = await startTestServer({ env: { SILOPOOL_BILLING_EXPORT: url, SILOPOOL_PLANS_FILE: plansFile } });
  // The ledger as the server's own processes open it (jobs.sqlite), for records of past days.
  db = openDatabase(join(server.dataDir, 'jobs.sqlite'));
  ledger = createSqliteUsageLedger(db);
});
afterAll(async () => {
  db?.close();
  await server?.stop();
  await provider.close();
  rmSync(plansDir, { recursive: true, force: true });
});

const op = (path: string, init: RequestInit = {}) =>
  server.api(path, { ...init, token: server.operatorToken });

describe('billing on the embedded default', () => {
  it('meters finished jobs and API requests; the tenant sees only its own usage and statements', async () => {
    const a = newTenantId('bill');
    const b = newTenantId('bill');
    await server.createTenant(a);
    await server.createTenant(b);
    const token = await server.mintToken({ tenants: [a], user: 'alice' });
    const tokenB = await server.mintToken({ tenants: [b], user: 'bob' });
    for (let i = 0; i < 2; i++) {
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token,
        tenant: a,
        body: JSON.stringify({ input: { revenue: 1_000_000 + i, years: 5 } }),
      });
      const { id } = (await res.json()) as { id: string };
      await waitForJob(server, token, id, { tenant: a });
    }
    const read = async () =>
      (await (await server.api('/v1/billing/usage', { token, tenant: a })).json()) as {
        usage: Record<string, number>;
        plan: { id: string };
      };
    // The request counter flushes each second (a timer: later on a busy machine), so the requests so far show
    // up within a few seconds, not at a fixed moment.
    await expect
      .poll(async () => (await read()).usage.api_requests ?? 0, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(2);
    const usage = await read();
    expect(usage.usage.jobs).toBe(2);
    expect(usage.usage.compute_mb_ms).toBeGreaterThan(0);
    expect(usage.usage.api_requests).toBeGreaterThanOrEqual(2);
    expect(usage.plan.id).toBe('standard');
    const other = (await (await server.api('/v1/billing/usage', { token: tokenB, tenant: b })).json()) as {
      usage: Record<string, number>;
    };
    expect(other.usage.jobs).toBe(0);
    // Another tenant's header widens nothing.
    expect((await server.api('/v1/billing/statements', { token: tokenB, tenant: a })).status).toBe(403);
    const mine = (await (await server.api('/v1/billing/statements', { token, tenant: a })).json()) as {
      items: Record<string, unknown>[];
    };
    expect(mine.items.every((s) => s.tenantId === a && !('cost' in s) && !('margin' in s))).toBe(true);
  });

  it("meters a dedicated tenant's finished job as soon as its function process reports it", async () => {
    // The process opens only its tenant's store, not the ledger: the server records what it reports, long
    // before the periodic metering pass would (every five minutes).
    const id = newTenantId('bill-ded');
    const { apiKey } = await server.createTenant(id, { placement: 'dedicated' });
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
    });
    const { id: jobId } = (await res.json()) as { id: string };
    expect(
      ((await waitForJob(server, apiKey, jobId, { timeoutMs: 30_000 })) as { status: string }).status,
    ).toBe('succeeded');
    await expect
      .poll(
        async () =>
          (
            (await (await server.api('/v1/billing/usage', { token: apiKey })).json()) as {
              usage: Record<string, number>;
            }
          ).usage.jobs,
        // The suite's poll deadline (10 s, vitest.config.ts), not a shorter one: the process's report
        // reaches the server a moment after the commit, later on a busy machine; the pass is minutes away.
        { timeout: 10_000 },
      )
      .toBe(1);
  });

  it('changes a plan with limits at once, prorated from its UTC day', async () => {
    const t = newTenantId('plan');
    await server.createTenant(t);
    const res = await op(`/v1/admin/tenants/${t}/plan`, {
      method: 'POST',
      body: JSON.stringify({ planId: 'enterprise' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { applied: boolean }).applied).toBe(true);
    const tenant = (await (await op(`/v1/admin/tenants/${t}`)).json()) as { plan: string };
    expect(tenant.plan).toBe('enterprise');
    const plans = (await (await op('/v1/admin/billing/plans')).json()) as { plans: { id: string }[] };
    expect(plans.plans.map((p) => p.id)).toContain('growth');
    const bad = await op(`/v1/admin/tenants/${t}/plan`, {
      method: 'POST',
      body: JSON.stringify({ planId: 'nope' }),
    });
    expect(bad.status).toBe(400);
    const month = new Date().toISOString().slice(0, 7);
    const st = (await (await op(`/v1/admin/tenants/${t}/statements/${month}`)).json()) as {
      lines: { kind: string; planId: string }[];
    };
    expect(st.lines.some((l) => l.kind === 'base_fee' && l.planId === 'enterprise')).toBe(true);
  });

  it('closes a past month once: late usage and corrections never change it', async () => {
    const t = newTenantId('close') as TenantId;
    await server.createTenant(t);
    await ledger.record([storageDayRecord(t, '2026-01-10', 5 * 1024 ** 3)]);
    expect(
      (await op(`/v1/admin/billing/months/${new Date().toISOString().slice(0, 7)}/close`, { method: 'POST' }))
        .status,
    ).toBe(409);
    const closed = await op('/v1/admin/billing/months/2026-01/close', { method: 'POST' });
    expect(closed.status).toBe(200);
    const before = await (await op(`/v1/admin/tenants/${t}/statements/2026-01`)).json();
    await ledger.record([{ ...storageDayRecord(t, '2026-01-11', 999 * 1024 ** 3) } as UsageRecord]);
    const after = await (await op(`/v1/admin/tenants/${t}/statements/2026-01`)).json();
    expect(after).toEqual(before);
    expect((before as { status: string }).status).toBe('closed');
    const late = await op(`/v1/admin/tenants/${t}/adjustments`, {
      method: 'POST',
      body: JSON.stringify({ amount: -500, reason: 'credit', month: '2026-01' }),
    });
    expect(late.status).toBe(409);
    const credit = await op(`/v1/admin/tenants/${t}/adjustments`, {
      method: 'POST',
      body: JSON.stringify({ amount: -500, reason: 'Credit for January outage' }),
    });
    expect(credit.status).toBe(201);
    const month = new Date().toISOString().slice(0, 7);
    const csv = await op(`/v1/admin/tenants/${t}/statements/${month}?format=csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const text = await csv.text();
    expect(text).toContain('adjustment');
    expect(text).toContain('-5.00');
    const html = await op(`/v1/admin/tenants/${t}/statements/${month}?format=html`);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await html.text()).toContain('Credit for January outage');
  });

  it('exports usage as Stripe meter events, counted once however often it is sent', async () => {
    const t = newTenantId('stripe') as TenantId;
    await server.createTenant(t);
    expect(
      (
        await op(`/v1/admin/tenants/${t}/billing-customer`, {
          method: 'PUT',
          body: JSON.stringify({ stripeCustomerId: 'cus_Test123' }),
        })
      ).status,
    ).toBe(204);
    await ledger.record([storageDayRecord(t, '2026-02-03', 1000), storageDayRecord(t, '2026-02-04', 2000)]);
    for (let i = 0; i < 2; i++) {
      const res = await op('/v1/admin/billing/export', {
        method: 'POST',
        body: JSON.stringify({ from: '2026-02-01', to: '2026-02-28' }),
      });
      expect(res.status).toBe(200);
    }
    expect(provider.problems).toEqual([]);
    const mine = [...provider.seen].filter(([id]) => id.includes(t));
    expect(mine.map(([, v]) => v).sort()).toEqual([1000, 2000]);
  });
});

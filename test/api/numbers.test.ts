import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobWarnings } from '../../src/core/job-view.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// Issue 13 through the real API: plausibility warnings when a job is accepted (kind 1), the job's
// currency defaulting to the tenant's and carried in the summary (kind 2), result warnings (kinds 4, 8).
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function submit(apiKey: string, model: string, input: object) {
  const res = await server.api(`/v1/models/${model}/jobs`, {
    method: 'POST',
    token: apiKey,
    body: JSON.stringify({ input }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { id: string; warnings: { code: string; path?: string; message: string }[] };
}

describe('numbers a finance team signs off, through the API', () => {
  it('growth typed as percent (5 for 5 %) is accepted with a warning naming the field; 0.05 has none', async () => {
    const tenant = newTenantId();
    const { apiKey } = await server.createTenant(tenant, { config: { formatting: { currency: 'EUR' } } });
    const typed = await submit(apiKey, 'finance', { revenueGrowth: 5, discountRate: 10.5 / 100 });
    expect(typed.warnings).toEqual([
      expect.objectContaining({ code: 'rate_implausible', path: '/input/revenueGrowth' }),
    ]);
    expect(typed.warnings[0]!.message).toContain('500 %');
    const high = await submit(apiKey, 'finance', { discountRate: 0.6, terminalGrowth: 0.02 });
    expect(high.warnings.map((w) => w.path)).toEqual(['/input/discountRate']);
    const fine = await submit(apiKey, 'finance', { revenueGrowth: 0.05 });
    expect(fine.warnings).toEqual([]);

    const done = await waitForJob(server, apiKey, typed.id);
    expect(done.status).toBe('succeeded');
    const summary = done.summary as { currency: string; warnings: { code: string }[] };
    // The tenant's currency is the default of the job's.
    expect(summary.currency).toBe('EUR');
    expect(summary.warnings.map((w) => w.code)).toContain('rate_implausible');
  }, 60_000);

  // Session 17: a loan drawn before 1900-03-01 ran, with payment dates Excel and LibreOffice disagree on.
  it('a loan drawn on 1900-01-31 is a 400 problem naming the field and the first date to use', async () => {
    const { apiKey } = await server.createTenant(newTenantId());
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({
        input: { loan: { principal: 1000, annualRate: 0.05, termMonths: 12, startDate: '1900-01-31' } },
      }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const text = await res.text();
    expect(text).toContain('/input/loan/startDate');
    expect(text).toContain('on or after 1900-03-01');
  }, 60_000);

  it('a losing fund reports the IRR its TVPI implies, with the other root named in warnings', async () => {
    const tenant = newTenantId();
    const { apiKey } = await server.createTenant(tenant);
    const job = await submit(apiKey, 'funds', { growthRate: -0.1, currency: 'JPY' });
    const done = await waitForJob(server, apiKey, job.id);
    const summary = done.summary as {
      netIrr: number;
      tvpi: number;
      currency: string;
      warnings: { code: string }[];
    };
    expect(summary.tvpi).toBeLessThan(1);
    expect(summary.netIrr).toBeCloseTo(-0.1908, 4);
    expect(summary.currency).toBe('JPY');
    expect(summary.warnings.map((w) => w.code)).toContain('irr_multiple_roots');
  }, 60_000);

  it("warnings are on the job itself (recorded at submit, the result's once it ran) and in the OpenAPI document", async () => {
    const tenant = newTenantId();
    const { apiKey } = await server.createTenant(tenant);
    const typed = await submit(apiKey, 'finance', { revenueGrowth: 5 });
    const done = await waitForJob(server, apiKey, typed.id);
    const warnings = done.warnings as { code: string; path?: string }[];
    expect(warnings.map((w) => w.code)).toContain('rate_implausible');
    // The response schema keeps every other field of the job view.
    expect(done).toHaveProperty('effectiveInput.revenueGrowth', 5);
    expect(done).toHaveProperty('links.events');
    expect(done).toHaveProperty('summary.enterpriseValue');

    const record = { warnings: [{ code: 'rate_implausible', message: 'm' }] } as never;
    expect(jobWarnings(record)).toEqual([{ code: 'rate_implausible', message: 'm' }]);
    expect(
      jobWarnings({ summary: { warnings: [] }, warnings: [{ code: 'x', message: 'y' }] } as never),
    ).toEqual([]);

    const doc = (await (await server.api('/docs/json')).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            responses: Record<
              string,
              { content: Record<string, { schema: { properties: Record<string, unknown> } }> }
            >;
          }
        >
      >;
    };
    const schemaOf = (path: string, method: string, status: string) =>
      doc.paths[path]![method]!.responses[status]!.content['application/json']!.schema;
    expect(schemaOf('/v1/jobs/{id}', 'get', '200').properties).toHaveProperty('warnings.items.required', [
      'code',
      'message',
    ]);
    expect(schemaOf('/v1/models/{model}/jobs', 'post', '202').properties).toHaveProperty('warnings');
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../security/support.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

/**
 * Query parameters of `format: date-time`. RFC 3339 (and so ajv-formats) allows a leap second,
 * `23:59:60`, which JavaScript's `Date.parse` answers with NaN: such a value used to pass the schema and
 * become an Invalid Date behind it.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const LEAP_SECONDS = ['2016-12-31T23:59:60Z', '2016-12-31T23:59:60+00:00', '2017-01-01T00:59:60+01:00'];

describe('date-time query parameters', () => {
  it('a leap second in the metrics history range is a 400 naming the field, not a 500', async () => {
    for (const value of LEAP_SECONDS) {
      for (const field of ['from', 'to']) {
        const res = await server.api(
          `/v1/admin/metrics/history?metric=jobs_succeeded&${field}=${encodeURIComponent(value)}`,
          { token: server.operatorToken },
        );
        const problem = await expectProblem(res, 400, 'validation_failed');
        expect(problem.errors?.map((e) => e.path).join(' ')).toContain(field);
      }
    }
  });

  it('a leap second in the operator job list is a 400, not a filter silently dropped', async () => {
    const tenant = newTenantId('instant');
    const { apiKey } = await server.createTenant(tenant);
    const submitted = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { revenue: 100 } }),
    });
    expect(submitted.status).toBe(202);
    for (const value of LEAP_SECONDS) {
      for (const field of ['from', 'to']) {
        const res = await server.api(
          `/v1/admin/jobs?tenant=${tenant}&${field}=${encodeURIComponent(value)}`,
          {
            token: server.operatorToken,
          },
        );
        const problem = await expectProblem(res, 400, 'validation_failed');
        expect(problem.errors?.map((e) => e.path).join(' ')).toContain(field);
      }
    }
    // The job of today is outside a range that ends in 2016, and inside one spelled in any RFC 3339 form.
    const before = await server.api(`/v1/admin/jobs?tenant=${tenant}&to=2016-12-31T23:59:59Z`, {
      token: server.operatorToken,
    });
    expect(((await before.json()) as { items: unknown[] }).items).toHaveLength(0);
    for (const from of ['2016-12-31t23:59:59z', '2016-12-31 23:59:59Z', '2016-12-31T23:59:59.999-05:00']) {
      const res = await server.api(`/v1/admin/jobs?tenant=${tenant}&from=${encodeURIComponent(from)}`, {
        token: server.operatorToken,
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(1);
    }
  });

  it('every spelling RFC 3339 allows that is an instant still answers the history', async () => {
    for (const to of ['2016-12-31t23:59:59z', '2016-12-31 23:59:59Z', '2017-01-01T00:59:59.5+01:00']) {
      const res = await server.api(
        `/v1/admin/metrics/history?metric=jobs_succeeded&to=${encodeURIComponent(to)}`,
        {
          token: server.operatorToken,
        },
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as { to: string }).to).toBe(new Date(Date.parse(to)).toISOString());
    }
  });
});

import type { FastifyInstance } from 'fastify';
import { usageReport } from '../../control/usage.ts';
import { ValidationError } from '../../core/errors.ts';
import { lastDays, monthPeriod, monthSoFar, periodInstants } from '../../core/usage-period.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /v1/admin/usage`: per-tenant load, limits in action, usage and estimated cost over one period, stated
 * as `from`/`to` (operator audience, enforced by the route's config). Default: the current UTC calendar
 * month so far; `?days=N` the last N days; `?month=YYYY-MM` that month (so far, if it is the current one).
 */
export function adminUsageRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: { days?: number; month?: string } }>(
    '/v1/admin/usage',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Queue depth, running jobs, waits, throttles, and usage and cost per tenant over one period',
        description:
          'Every count and cost is of jobs created in [`from`, `to`), and storage is priced for that period only. Default period: the current UTC calendar month so far.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // Only jobs of the period: reads each tenant's jobs back that far, not its whole history.
            days: { type: 'integer', minimum: 1, maximum: 3660, description: 'The last N days to now.' },
            month: {
              type: 'string',
              pattern: '^\\d{4}-(0[1-9]|1[0-2])$',
              description: 'A UTC calendar month, YYYY-MM (the current one so far).',
            },
          },
        },
      },
    },
    async (request) => {
      const { days, month } = request.query;
      if (days !== undefined && month !== undefined)
        throw new ValidationError([
          { path: '/querystring/month', message: 'give `days` or `month`, not both', rule: 'exclusive' },
        ]);
      const now = Date.now();
      const period =
        days !== undefined
          ? lastDays(days, now)
          : month !== undefined
            ? monthPeriod(month, now)
            : monthSoFar(now);
      const items = await usageReport(
        {
          directory: deps.directory,
          stores: deps.stores,
          queue: deps.queue,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        },
        { period },
        now,
      );
      return { ...periodInstants(period), items };
    },
  );
}

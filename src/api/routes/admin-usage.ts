import type { FastifyInstance } from 'fastify';
import { usageReport } from '../../control/usage.ts';
import type { AppDeps } from '../deps.ts';

/** `GET /v1/admin/usage`: per-tenant load, limits in action, usage and estimated cost (operator audience, enforced by the route's config). */
export function adminUsageRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: { days?: number } }>(
    '/v1/admin/usage',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Queue depth, running jobs, waits, throttles, usage and cost per tenant',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // Only jobs of the last `days`: reads each tenant's jobs back that far, not its whole history.
            days: { type: 'integer', minimum: 1, maximum: 3660 },
          },
        },
      },
    },
    async (request) => ({
      items: await usageReport(
        {
          directory: deps.directory,
          stores: deps.stores,
          queue: deps.queue,
          ...(deps.metrics ? { metrics: deps.metrics } : {}),
        },
        request.query.days !== undefined ? { sinceMs: Date.now() - request.query.days * 86_400_000 } : {},
      ),
    }),
  );
}

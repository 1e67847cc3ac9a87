import type { FastifyInstance } from 'fastify';
import { usageReport } from '../../control/usage.ts';
import type { AppDeps } from '../deps.ts';

/** `GET /v1/admin/usage`: per-tenant load, limits in action, usage and estimated cost (operator role, see admin.ts). */
export function adminUsageRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get(
    '/v1/admin/usage',
    {
      schema: {
        tags: ['admin'],
        summary: 'Queue depth, running jobs, waits, throttles, usage and cost per tenant',
      },
    },
    async () => ({
      items: await usageReport({
        directory: deps.directory,
        stores: deps.stores,
        queue: deps.queue,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
      }),
    }),
  );
}

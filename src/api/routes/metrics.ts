import type { FastifyInstance } from 'fastify';
import { queuedJobsByTenant } from '../../control/queued-jobs.ts';
import { requireOperator } from '../context.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /metrics` in the Prometheus text format, per tenant. Operators only: tenant ids and volumes are
 * not public (scrape with the operator token as a bearer credential).
 */
export function metricsRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get(
    '/metrics',
    { schema: { tags: ['ops'], summary: 'Per-tenant metrics (Prometheus text)' } },
    async (request, reply) => {
      await requireOperator(deps, request);
      const body = deps.metrics ? deps.metrics.render(await queuedJobsByTenant(deps.queue)) : '';
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(body);
    },
  );
}

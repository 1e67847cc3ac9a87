import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';

/** `GET /metrics` in the Prometheus text format. */
export function metricsRoutes(app: FastifyInstance, _deps: AppDeps): void {
  app.get('/metrics', { schema: { tags: ['ops'], security: [] } }, async (_request, reply) =>
    reply.type('text/plain; version=0.0.4').send(''),
  );
}

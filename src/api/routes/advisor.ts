import type { FastifyInstance } from 'fastify';
import { type AdvisorDeps, advise } from '../../control/advisor.ts';
import { SilopoolError, ValidationError } from '../../core/errors.ts';
import type { Placement } from '../../core/tenant.ts';
import { periodInstants } from '../../core/usage-period.ts';

/**
 * `GET /v1/admin/advisor`: where each tenant should run, why, and what it costs; `POST …/apply` starts
 * the recommended moves (all, or the tenants named). Operator audience, enforced by the route's config.
 */
export function advisorRoutes(
  app: FastifyInstance,
  deps: AdvisorDeps & { move?(tenantId: string, to: Placement): Promise<{ id: string }> },
): void {
  app.get(
    '/v1/admin/advisor',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Placement recommendations from usage and cost',
        description:
          'Usage, revenue and cost are read over [`from`, `to`) — this UTC calendar month so far, at least its first day — and scaled to a month at that pace (absent: all history, per 30 days).',
      },
    },
    async () => {
      const now = Date.now();
      const basis = deps.basis?.(now);
      return { ...(basis ? periodInstants(basis.period) : {}), items: await advise(deps, now) };
    },
  );

  app.post<{ Body: { tenantIds?: string[] } }>(
    '/v1/admin/advisor/apply',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Start the recommended placement moves',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { tenantIds: { type: 'array', items: { type: 'string' }, maxItems: 1000 } },
        },
      },
    },
    async (request, reply) => {
      if (!deps.move) {
        throw new ValidationError([
          { path: '', message: 'this backend moves tenants with its deployment pipeline (docs/aws.md)' },
        ]);
      }
      const wanted = request.body?.tenantIds ? new Set(request.body.tenantIds) : undefined;
      const started: { tenantId: string; to: Placement; operationId: string }[] = [];
      // A move the runner refuses (the tenant changed since the advice was read: offboarding, a race) is that tenant's
      // answer, not the request's: thrown, it hid the moves already started and left the rest unstarted.
      const refused: { tenantId: string; to: Placement; status: number; code: string; detail: string }[] = [];
      for (const r of await advise(deps)) {
        if (r.action === 'keep' || (wanted && !wanted.has(r.tenantId))) continue;
        try {
          const op = await deps.move(r.tenantId, r.recommended);
          started.push({ tenantId: r.tenantId, to: r.recommended, operationId: op.id });
        } catch (error) {
          if (!(error instanceof SilopoolError) || error.status >= 500) throw error;
          refused.push({
            tenantId: r.tenantId,
            to: r.recommended,
            status: error.status,
            code: error.code,
            detail: error.message,
          });
        }
      }
      return reply.code(202).send({ items: started, ...(refused.length > 0 ? { refused } : {}) });
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { ALERT_RULES, activeAlerts } from '../../control/alerts.ts';
import { HISTORY_METRICS, type HistoryMetric } from '../../control/metrics-history.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import type { AppDeps } from '../deps.ts';

const DAY = 86_400_000;
/** Most points one answer carries: a day of one scope at the default 60 s interval is 1,440. */
const MAX_POINTS = 20_000;

/**
 * Metrics history and active alerts for operators (audience enforced by each route's config). Embedded,
 * history is kept by the platform in SQLite; on the AWS backend CloudWatch keeps it, and these answer 404
 * `not_found` naming the dashboard to use instead.
 */
export function metricsHistoryRoutes(app: FastifyInstance, deps: AppDeps): void {
  const store = () => {
    if (!deps.metricsHistory)
      throw new NotFoundError('Metrics history of this backend (on AWS it is in the CloudWatch dashboard)');
    return deps.metricsHistory;
  };

  app.get<{ Querystring: { metric: HistoryMetric; tenant?: string; from?: string; to?: string } }>(
    '/v1/admin/metrics/history',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['ops'],
        summary: 'One metric over time, for one tenant or the whole platform (no tenant)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['metric'],
          properties: {
            metric: { type: 'string', enum: Object.keys(HISTORY_METRICS) },
            tenant: { type: 'string', minLength: 1, maxLength: 128 },
            from: { type: 'string', format: 'date-time', description: 'Default: 24 hours before `to`' },
            to: { type: 'string', format: 'date-time', description: 'Default: now' },
          },
        },
      },
    },
    async (request) => {
      const { metric, tenant } = request.query;
      const to = request.query.to ? Date.parse(request.query.to) : Date.now();
      const from = request.query.from ? Date.parse(request.query.from) : to - DAY;
      // As GET /v1/admin/jobs: reversed bounds are a mistake to name, not an empty chart.
      if (from > to) {
        throw new ValidationError([{ path: '/querystring/from', message: 'must not be after `to`' }]);
      }
      const points = await store().query({ metric, scope: tenant ?? '', from, to }, MAX_POINTS);
      return {
        metric,
        ...HISTORY_METRICS[metric],
        ...(tenant ? { tenantId: tenant } : {}),
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        points: points.map((p) => ({ at: new Date(p.at).toISOString(), value: p.value })),
      };
    },
  );

  app.get(
    '/v1/admin/alerts',
    {
      config: { audience: 'operator' },
      schema: { tags: ['ops'], summary: 'Alerts firing now (evaluated on metrics history) and every rule' },
    },
    async () => ({
      items: await activeAlerts(store(), Date.now()),
      rules: ALERT_RULES.map(({ name, severity, summary, runbook, expr, for: pending }) => ({
        name,
        severity,
        summary,
        runbook,
        expr,
        for: pending,
      })),
    }),
  );
}

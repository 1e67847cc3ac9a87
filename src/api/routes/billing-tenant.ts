import type { FastifyInstance } from 'fastify';
import { planOn } from '../../control/plans.ts';
import { ownStatement, ownStatements, parseMonth } from '../../control/statements.ts';
import { recordsOfIncarnation } from '../../core/billing-incarnation.ts';
import { monthRange, utcDay, utcMonth } from '../../core/usage.ts';
import { tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { type BillingRouteDeps, formatQuery, sendStatement } from './billing-common.ts';

const tenantAudience = { audience: 'tenant' } as const;
const tags = ['billing'];

/**
 * A tenant's own billing: its usage this month against its plan, and its statements. Every route reads
 * the tenant from the credential (tenantContext); none takes a tenant id from the request.
 */
export function tenantBillingRoutes(app: FastifyInstance, deps: AppDeps, billing: BillingRouteDeps): void {
  app.get(
    '/v1/billing/usage',
    {
      config: tenantAudience,
      schema: { tags, summary: 'This month’s usage against the plan, and the bill so far' },
    },
    async (request) => {
      const { tenant } = await tenantContext(deps, request);
      const now = Date.now();
      const month = utcMonth(now);
      const plan = await planOn(billing.billing, tenant, utcDay(now));
      const statement = await ownStatement(billing, tenant, month);
      const daily = new Map<string, number>();
      const records = await billing.usage.forTenant(tenant.id).list(monthRange(month));
      for (const r of recordsOfIncarnation(tenant, records))
        if (r.meter === 'jobs') daily.set(r.day, (daily.get(r.day) ?? 0) + r.quantity);
      return {
        month,
        plan: {
          id: plan.id,
          name: plan.name,
          currency: plan.currency,
          baseFee: plan.baseFee,
          included: plan.included,
        },
        usage: statement.usage,
        total: statement.total,
        currency: statement.currency,
        jobsPerDay: [...daily].sort().map(([day, jobs]) => ({ day, jobs })),
      };
    },
  );

  app.get(
    '/v1/billing/statements',
    { config: tenantAudience, schema: { tags, summary: 'This tenant’s statements' } },
    async (request) => {
      const { tenant } = await tenantContext(deps, request);
      // What it owes, not what it cost the platform; an earlier tenant's of this id never.
      return { items: await ownStatements(billing, tenant) };
    },
  );

  app.get<{ Params: { month: string }; Querystring: { format?: string } }>(
    '/v1/billing/statements/:month',
    {
      config: tenantAudience,
      schema: { tags, summary: 'One statement as JSON, CSV or a printable page', querystring: formatQuery },
    },
    async (request, reply) => {
      const { tenant } = await tenantContext(deps, request);
      const st = await ownStatement(billing, tenant, parseMonth(request.params.month, '/params/month'));
      if (request.query.format === undefined || request.query.format === 'json') return st;
      return sendStatement(reply, st, request.query.format, { name: tenant.name });
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { exportUsage, setBillingCustomer } from '../../control/billing-export.ts';
import { idempotentWrite } from '../../control/billing-idempotency.ts';
import { changePlan, loadPlans, savePlans } from '../../control/plans.ts';
import {
  addAdjustment,
  closeMonth,
  isClosed,
  listStatements,
  monthStatements,
  parseMonth,
  statementFor,
} from '../../control/statements.ts';
import { COST_CURRENCY, totalsByCurrency } from '../../core/billing-totals.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { parseTenantId } from '../../core/ids.ts';
import type { PlanCatalogue } from '../../core/plans.ts';
import { utcMonth } from '../../core/usage.ts';
import type { AppDeps } from '../deps.ts';
import { billingIdempotencyKeyHeaders, validIdempotencyKey } from '../idempotency-key.ts';
import { formatQuery, sendStatement } from './billing-common.ts';
import { tenantBillingRoutes } from './billing-tenant.ts';

export type { BillingRouteDeps } from './billing-common.ts';

const operator = { audience: 'operator' } as const;
const tags = ['billing'];

/**
 * Billing for operators: usage and cost per tenant, plans, plan changes, statements, adjustments,
 * closing months and the export to a billing provider. Registered only where the platform has a ledger.
 */
export function billingRoutes(app: FastifyInstance, deps: AppDeps): void {
  const billing = deps.billing;
  if (!billing) return;
  tenantBillingRoutes(app, deps, billing);

  app.get<{ Querystring: { month?: string } }>(
    '/v1/admin/billing/summary',
    {
      config: operator,
      schema: {
        tags,
        summary: 'Revenue, cost and margin per tenant for a month (default: this month so far)',
        description:
          'Money in integer minor units. `totals.byCurrency`: one row per statement currency (revenue in that ' +
          'currency, cost of the same tenants in USD cents, margin = revenue − cost for USD, null otherwise with ' +
          '`marginUnavailable`). `totals.revenue`, `totals.cost` and `totals.margin` are the USD row ' +
          '(revenue − cost = margin); `totals.cost` is the cost of the tenants billed in USD only (it used to be ' +
          'every tenant’s). `totals.platformCost`: every tenant’s cost, USD cents. ' +
          '`totals.revenueByCurrency`: revenue per currency.',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { month: { type: 'string' } },
        },
      },
    },
    async (request) => {
      const month = request.query.month
        ? parseMonth(request.query.month, '/querystring/month')
        : utcMonth(Date.now());
      const items = await monthStatements(billing, month);
      // Minor units of different currencies are never added or subtracted: each statement currency has
      // its row (revenue and cost of the tenants billed in it); the flat totals are the USD row's, so
      // revenue − cost = margin holds, and platformCost is every tenant's cost (USD cents).
      const byCurrency = totalsByCurrency(
        items.map((s) => ({ currency: s.currency, revenue: s.total, cost: s.cost })),
      );
      const usd = byCurrency.find((t) => t.currency === COST_CURRENCY);
      const revenueByCurrency: Record<string, number> = {};
      for (const t of byCurrency) revenueByCurrency[t.currency] = t.revenue;
      return {
        month,
        closed: await isClosed(billing.billing, month),
        costTable: billing.costs.name,
        items: items.map(({ lines: _lines, ...rest }) => rest),
        totals: {
          revenue: usd?.revenue ?? 0,
          cost: usd?.cost ?? 0,
          margin: usd?.margin ?? 0,
          platformCost: items.reduce((a, s) => a + s.cost, 0),
          revenueByCurrency,
          byCurrency,
        },
      };
    },
  );

  app.get<{ Querystring: { months?: number } }>(
    '/v1/admin/billing/months',
    {
      config: operator,
      schema: {
        tags,
        summary: 'Revenue, cost and margin per tenant for each of the last months (for charts)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { months: { type: 'integer', minimum: 1, maximum: 24 } },
        },
      },
    },
    async (request) => {
      const n = request.query.months ?? 6;
      const now = new Date();
      const months: string[] = [];
      for (let i = n - 1; i >= 0; i--)
        months.push(
          new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7),
        );
      const items = [];
      for (const month of months) {
        const st = await monthStatements(billing, month);
        items.push({
          month,
          tenants: st.map((s) => ({
            tenantId: s.tenantId,
            currency: s.currency,
            revenue: s.total,
            cost: s.cost,
            margin: s.margin,
          })),
        });
      }
      return { items };
    },
  );

  app.get(
    '/v1/admin/billing/plans',
    { config: operator, schema: { tags, summary: 'The plan catalogue' } },
    async () => loadPlans(billing.billing),
  );

  app.put<{ Body: PlanCatalogue }>(
    '/v1/admin/billing/plans',
    {
      config: operator,
      schema: {
        tags,
        summary: 'Replace the plan catalogue (as a plans file does)',
        body: { type: 'object' },
      },
    },
    async (request) => savePlans(billing.billing, request.body),
  );

  app.post<{ Params: { id: string }; Body: { planId: string; effective?: string } }>(
    '/v1/admin/tenants/:id/plan',
    {
      config: operator,
      schema: {
        tags,
        summary: 'Change a tenant’s plan from a UTC day (default today); limits follow at once',
        headers: billingIdempotencyKeyHeaders,
        body: {
          type: 'object',
          required: ['planId'],
          additionalProperties: false,
          properties: {
            planId: { type: 'string', maxLength: 63 },
            effective: { type: 'string', maxLength: 10 },
          },
        },
      },
    },
    async (request) => {
      const tenantId = parseTenantId(request.params.id, '/params/id');
      const key = validIdempotencyKey(request);
      return idempotentWrite(billing.billing, 'plan-change', key, { tenantId, ...request.body }, ({ now }) =>
        changePlan(
          {
            directory: deps.directory,
            queue: deps.queue,
            stores: deps.stores,
            billing: billing.billing,
            isClosed: (month) => isClosed(billing.billing, month),
            ...(deps.control?.tenantChanged ? { tenantChanged: deps.control.tenantChanged } : {}),
          },
          tenantId,
          request.body.planId,
          request.body.effective,
          now,
        ),
      );
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id/statements',
    { config: operator, schema: { tags, summary: 'A tenant’s statements: closed months and this month' } },
    async (request) => {
      const tenant = await deps.directory.get(parseTenantId(request.params.id, '/params/id'));
      if (!tenant) throw new NotFoundError(`Tenant "${request.params.id}"`);
      return { items: await listStatements(billing, tenant) };
    },
  );

  app.get<{ Params: { id: string; month: string }; Querystring: { format?: string } }>(
    '/v1/admin/tenants/:id/statements/:month',
    {
      config: operator,
      schema: { tags, summary: 'One statement as JSON, CSV or a printable page', querystring: formatQuery },
    },
    async (request, reply) => {
      const tenantId = parseTenantId(request.params.id, '/params/id');
      const tenant = (await deps.directory.get(tenantId)) ?? {
        id: tenantId,
        plan: 'free' as const,
        name: tenantId,
      };
      const st = await statementFor(billing, tenant, parseMonth(request.params.month, '/params/month'));
      return sendStatement(reply, st, request.query.format, { name: tenant.name });
    },
  );

  app.post<{ Params: { id: string }; Body: { amount: number; reason: string; month?: string } }>(
    '/v1/admin/tenants/:id/adjustments',
    {
      config: operator,
      schema: {
        tags,
        summary: 'A correction (minor units; negative is a credit) on an open month’s statement',
        headers: billingIdempotencyKeyHeaders,
        body: {
          type: 'object',
          required: ['amount', 'reason'],
          additionalProperties: false,
          properties: { amount: { type: 'integer' }, reason: { type: 'string' }, month: { type: 'string' } },
        },
      },
    },
    async (request, reply) => {
      const tenantId = parseTenantId(request.params.id, '/params/id');
      const key = validIdempotencyKey(request);
      const adjustment = await idempotentWrite(
        billing.billing,
        'adjustment',
        key,
        { tenantId, ...request.body },
        ({ now, id }) => addAdjustment(billing, tenantId, request.body, now, id),
      );
      return reply.code(201).send(adjustment);
    },
  );

  app.post<{ Params: { month: string } }>(
    '/v1/admin/billing/months/:month/close',
    {
      config: operator,
      schema: {
        tags,
        summary: 'Close an ended month: its statements are stored and never change',
        description:
          'One month closes at a time: 409 `close_in_progress` while another month is being closed (or its ' +
          'close was cut short: close that month again first). 409 `month_open` for a month not ended (UTC). ' +
          'Closing a closed month again returns its stored statements.',
      },
    },
    async (request) => ({
      items: await closeMonth(billing, parseMonth(request.params.month, '/params/month')),
    }),
  );

  app.put<{ Params: { id: string }; Body: { stripeCustomerId: string } }>(
    '/v1/admin/tenants/:id/billing-customer',
    {
      config: operator,
      schema: {
        tags,
        summary: 'The tenant’s customer id at the billing provider',
        body: {
          type: 'object',
          required: ['stripeCustomerId'],
          additionalProperties: false,
          properties: { stripeCustomerId: { type: 'string', maxLength: 110 } },
        },
      },
    },
    async (request, reply) => {
      await setBillingCustomer(
        billing,
        parseTenantId(request.params.id, '/params/id'),
        request.body.stripeCustomerId,
      );
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { from: string; to: string } }>(
    '/v1/admin/billing/export',
    {
      config: operator,
      schema: {
        tags,
        summary: 'Send the usage of past days to the billing provider as meter events (idempotent)',
        description:
          'Days sent are remembered; a failure leaves the days not sent unmarked, and exporting again sends them with the same identifiers. `503 billing_export_unwritable`: the file sink cannot be written (its path named). `502 billing_sink_failed`: the URL sink could not be reached, gave no answer in 30 s or answered other than 2xx.',
        body: {
          type: 'object',
          required: ['from', 'to'],
          additionalProperties: false,
          properties: { from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' } },
        },
      },
    },
    async (request) => {
      if (!billing.sink)
        throw new ValidationError([
          { path: '', message: 'no billing sink is configured (SILOPOOL_BILLING_EXPORT)' },
        ]);
      return exportUsage(billing, billing.sink, request.body);
    },
  );
}

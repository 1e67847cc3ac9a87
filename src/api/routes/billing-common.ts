import type { FastifyReply } from 'fastify';
import type { BillingSink } from '../../control/billing-export.ts';
import { statementCsv, statementHtml } from '../../control/statement-render.ts';
import type { BillingDeps } from '../../control/statements.ts';
import type { Statement, TenantStatement } from '../../core/statement.ts';

// What the operator and tenant billing routes share; its own module so neither imports the other.
export interface BillingRouteDeps extends BillingDeps {
  /** Where `POST /v1/admin/billing/export` sends usage events (`SILOPOOL_BILLING_EXPORT`). */
  sink?: BillingSink;
}

/**
 * Sends a statement as JSON, CSV (`?format=csv`) or a printable HTML page (`?format=html`): an operator's
 * with its cost and margin, a tenant's (TenantStatement) without, since it has none.
 */
export function sendStatement(
  reply: FastifyReply,
  st: TenantStatement | Statement,
  format: string | undefined,
  options: { name?: string },
) {
  if (format === 'csv')
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="statement-${st.tenantId}-${st.month}.csv"`)
      .send(statementCsv(st));
  if (format === 'html')
    return (
      reply
        .type('text/html; charset=utf-8')
        // The page's one inline style sheet, and nothing else: no scripts, no requests.
        .header(
          'content-security-policy',
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        )
        .send(statementHtml(st, options.name))
    );
  return reply.send(st);
}

export const formatQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { format: { type: 'string', enum: ['json', 'csv', 'html'] } },
} as const;

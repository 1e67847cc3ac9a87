import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { statementCsv } from '../../src/control/statement-render.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Statement } from '../../src/core/statement.ts';

const statement = (margin: number | null): Statement => ({
  tenantId: `t-${randomUUID().slice(0, 8)}` as TenantId,
  month: '2026-02',
  currency: 'USD',
  status: 'closed',
  lines: [
    {
      kind: 'base_fee',
      planId: 'standard',
      description: 'Standard plan, =SUM(A1)',
      from: '2026-02-01',
      to: '2026-02-28',
      amount: 4900,
    },
  ],
  total: 4900,
  cost: 812,
  margin,
  usage: {} as Statement['usage'],
});

describe('statementCsv', () => {
  it('writes one row per line, then total, cost and margin rows with the line columns empty', () => {
    const st = statement(4088);
    const rows = statementCsv(st).split('\r\n');
    expect(rows).toEqual([
      'tenant,month,kind,plan,meter,from,to,quantity,included,overage,description,amount_USD',
      `${st.tenantId},2026-02,base_fee,standard,,2026-02-01,2026-02-28,,,,"Standard plan, =SUM(A1)",49.00`,
      `${st.tenantId},2026-02,total,,,,,,,,closed,49.00`,
      `${st.tenantId},2026-02,cost,,,,,,,,USD,8.12`,
      `${st.tenantId},2026-02,margin,,,,,,,,USD,40.88`,
      '',
    ]);
  });

  it("leaves cost and margin out of a tenant's own statement, and the margin out when there is none", () => {
    const { cost: _cost, margin: _margin, ...own } = statement(4088);
    const csv = statementCsv(own);
    expect(csv).toContain(',total,');
    expect(csv).not.toContain(',cost,');
    expect(csv).not.toContain(',margin,');
    expect(statementCsv(statement(null))).not.toContain(',margin,');
  });
});

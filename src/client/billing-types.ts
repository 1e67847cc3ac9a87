/** Billing shapes of the API (src/core/statement.ts, src/core/plans.ts), for the client and the web app. */
import type { CurrencyTotals } from '../core/billing-totals.ts';

export type { CurrencyTotals };
export type MeterName =
  | 'jobs'
  | 'compute_mb_ms'
  | 'mc_paths'
  | 'storage_byte_days'
  | 'api_requests'
  | 'dedicated_lane_hours';

export interface StatementLine {
  kind: 'base_fee' | 'usage' | 'dedicated_surcharge' | 'adjustment';
  planId?: string;
  meter?: MeterName;
  description: string;
  from: string;
  to: string;
  quantity?: number;
  included?: number;
  overage?: number;
  /** Minor units (cents). */
  amount: number;
}

export interface Statement {
  tenantId: string;
  month: string;
  currency: string;
  status: 'open' | 'closed';
  lines: StatementLine[];
  total: number;
  /** Operators only: the platform's cost (USD cents) and the margin. */
  cost?: number;
  margin?: number | null;
  usage: Record<MeterName, number>;
  closedAt?: string;
}

export interface BillingSummary {
  month: string;
  closed: boolean;
  costTable: string;
  items: Omit<Statement, 'lines'>[];
  /**
   * `revenue`, `cost`, `margin`: the tenants billed in USD (cents; revenue − cost = margin; `cost` was every
   * tenant's before `byCurrency` came). `platformCost`: every tenant's cost (USD cents). `byCurrency`: a row
   * per statement currency (docs/billing.md); `revenueByCurrency`: its revenues.
   */
  totals: {
    revenue: number;
    cost: number;
    margin: number;
    platformCost: number;
    revenueByCurrency: Record<string, number>;
    byCurrency: CurrencyTotals[];
  };
}

export interface BillingMonth {
  month: string;
  /** `revenue` in minor units of `currency`; `cost` in USD cents; `margin` null unless USD. */
  tenants: { tenantId: string; currency: string; revenue: number; cost: number; margin: number | null }[];
}

export interface BillingPlan {
  id: string;
  name: string;
  tier: 'free' | 'standard' | 'enterprise';
  currency: string;
  baseFee: number;
  included: Partial<Record<MeterName, number>>;
  overage: Partial<Record<MeterName, { minor: number; per: number }>>;
  dedicatedSurcharge: number;
  limits: Record<string, number>;
}

export interface TenantBillingUsage {
  month: string;
  plan: {
    id: string;
    name: string;
    currency: string;
    baseFee: number;
    included: Partial<Record<MeterName, number>>;
  };
  usage: Record<MeterName, number>;
  total: number;
  currency: string;
  jobsPerDay: { day: string; jobs: number }[];
}

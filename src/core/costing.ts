import {
  AWS_LIST_PRICES,
  dedicatedFixedUsd,
  PER_TENANT_MONTH_USD,
  platformFixedUsd,
  TRACES_PER_JOB,
} from './aws-cost.ts';
import type { TenantId } from './ids.ts';
import { METERS, type Meter, type UsageRecord } from './usage.ts';

/** Sums per meter (whole units). */
export type MeterTotals = Record<Meter, number>;

export function emptyTotals(): MeterTotals {
  return Object.fromEntries(METERS.map((m) => [m, 0])) as MeterTotals;
}

/** Per-meter sums of records grouped by `keyOf` (tenant, tenant/model, tenant/day, tenant/month…). */
export function aggregateUsage(
  records: readonly UsageRecord[],
  keyOf: (r: UsageRecord) => string,
): Map<string, MeterTotals> {
  const out = new Map<string, MeterTotals>();
  for (const r of records) {
    const key = keyOf(r);
    let totals = out.get(key);
    if (!totals) {
      totals = emptyTotals();
      out.set(key, totals);
    }
    totals[r.meter] += r.quantity;
  }
  return out;
}

/**
 * What the platform pays, in USD: a price per unit of each meter (usage), and fixed monthly costs. A
 * dedicated tenant's fixed cost is its `dedicated_lane_hours` at the hourly price (its own stack); the
 * shared platform's fixed cost is spread over tenants by usage share (`allocateFixed`).
 */
export interface CostTable {
  name: string;
  perUnitUsd: Record<Meter, number>;
  /** Shared fixed cost of the platform per month (dashboards, alarms, idle polling; embedded: the machine). */
  sharedFixedMonthUsd: number;
  /** Fixed cost per tenant per month whatever its usage (EMF metrics with its `TenantId`). */
  perTenantMonthUsd: number;
}

/**
 * AWS list prices, us-east-1, from the one cost model (src/core/aws-cost.ts; docs/aws.md "Monthly cost per
 * tenant" states the per-job assumptions): compute is Lambda arm64 GB-seconds; a job carries the rest of
 * its $6.73 per 100,000 except compute and the API (DynamoDB requests and storage, SQS, S3 requests, logs,
 * the Lambda request: $2.44 per 100,000) plus its X-Ray traces; an API request is API Gateway $1.00 per
 * million + the API Lambda ($0.88 per 100,000 jobs of 4 requests); storage is S3 $0.023 per GB-month over
 * 30 days; a dedicated lane hour is the tenant stack's fixed cost (without the per-tenant metrics, which
 * every tenant pays) over 730 hours; the shared fixed cost is the platform's own.
 */
export const AWS_LIST_COSTS: CostTable = {
  name: 'aws-us-east-1-list',
  perUnitUsd: {
    jobs: 2.44 / 100_000 + TRACES_PER_JOB * AWS_LIST_PRICES.xrayTraceUsd,
    compute_mb_ms: 0.0000133334 / 1024 / 1000,
    mc_paths: 0,
    storage_byte_days: 0.023 / 30 / 1024 ** 3,
    api_requests: 1 / 1_000_000 + 0.88 / 100_000 / 4,
    dedicated_lane_hours: (dedicatedFixedUsd() - PER_TENANT_MONTH_USD) / 730,
  },
  sharedFixedMonthUsd: platformFixedUsd(),
  perTenantMonthUsd: PER_TENANT_MONTH_USD,
};

/** The embedded default: one machine's monthly price as the shared fixed cost, no per-unit costs. */
export const EMBEDDED_MACHINE_COSTS: CostTable = {
  name: 'embedded-machine',
  perUnitUsd: {
    jobs: 0,
    compute_mb_ms: 0,
    mc_paths: 0,
    storage_byte_days: 0,
    api_requests: 0,
    dedicated_lane_hours: 0,
  },
  sharedFixedMonthUsd: 40,
  perTenantMonthUsd: 0,
};

/** USD as integer micro-dollars (µ$): costs per unit are fractions of a cent, sums must be exact. */
export const MICROS_PER_USD = 1_000_000;

/**
 * Splits `total` (a whole number ≥ 0) in proportion to `weights` (whole numbers ≥ 0) by the
 * largest-remainder (Hamilton) method: every part is whole and the parts add up to `total` exactly.
 * All-zero weights split equally; ties go to the earlier index. Exact in BigInt: quantities such as
 * MB-milliseconds times micro-dollars pass 2^53.
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  const w = weights.map((x) => BigInt(Math.max(0, Math.round(x))));
  const anyWeight = w.some((x) => x > 0n);
  const ws = anyWeight ? w : w.map(() => 1n);
  const sum = ws.reduce((a, b) => a + b, 0n);
  const t = BigInt(Math.round(total));
  const parts = ws.map((x) => (t * x) / sum);
  const rest = ws.map((x, i) => ({ i, r: (t * x) % sum }));
  let left = Number(t - parts.reduce((a, b) => a + b, 0n));
  rest.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (let k = 0; left > 0; k++, left--) parts[rest[k % rest.length]!.i]! += 1n;
  return parts.map(Number);
}

export interface TenantCost {
  tenantId: TenantId;
  usage: MeterTotals;
  /** Per meter: the tenant's part of the platform's cost of that meter (µ$). */
  variableMicros: Record<Meter, number>;
  /** Its own fixed cost (µ$): the per-tenant monthly cost. */
  ownFixedMicros: number;
  /** Its part of the shared platform's fixed cost (µ$). */
  sharedFixedMicros: number;
  totalMicros: number;
}

export interface CostAttribution {
  tenants: TenantCost[];
  platform: {
    usage: MeterTotals;
    variableMicros: Record<Meter, number>;
    ownFixedMicros: number;
    sharedFixedMicros: number;
    totalMicros: number;
  };
}

/**
 * The cost of a period's usage per tenant. The platform's cost of each meter is priced once on the total
 * (rounded to µ$) and split over tenants by their quantities; the shared fixed cost (× `months`) is split
 * by usage share — each tenant's part of compute (`compute_mb_ms`), or of jobs when nothing computed, or
 * equally — over the `tenants` billed (every tenant with records, plus those named). So the tenants' sums
 * equal the platform's totals to the micro-dollar, by construction (test/billing/costing.property.test.ts).
 */
export function attributeCosts(
  records: readonly UsageRecord[],
  table: CostTable,
  options: { months: number; tenants?: readonly TenantId[] },
): CostAttribution {
  const byTenant = aggregateUsage(records, (r) => r.tenantId);
  for (const t of options.tenants ?? []) if (!byTenant.has(t)) byTenant.set(t, emptyTotals());
  const ids = [...byTenant.keys()].sort() as TenantId[];
  const usage = ids.map((id) => byTenant.get(id)!);
  const platformUsage = emptyTotals();
  for (const u of usage) for (const m of METERS) platformUsage[m] += u[m];

  const variable = emptyTotals();
  const perTenantVariable = ids.map(() => emptyTotals());
  for (const m of METERS) {
    variable[m] = Math.round(platformUsage[m] * table.perUnitUsd[m] * MICROS_PER_USD);
    allocate(
      variable[m],
      usage.map((u) => u[m]),
    ).forEach((part, i) => {
      perTenantVariable[i]![m] = part;
    });
  }
  const perTenantFixed = Math.round(table.perTenantMonthUsd * options.months * MICROS_PER_USD);
  const sharedFixed = Math.round(table.sharedFixedMonthUsd * options.months * MICROS_PER_USD);
  const compute = usage.map((u) => u.compute_mb_ms);
  const jobs = usage.map((u) => u.jobs);
  const shares = allocate(sharedFixed, compute.some((x) => x > 0) ? compute : jobs);

  const tenants = ids.map((tenantId, i): TenantCost => {
    const variableMicros = perTenantVariable[i]!;
    const sum = METERS.reduce((a, m) => a + variableMicros[m], 0);
    return {
      tenantId,
      usage: usage[i]!,
      variableMicros,
      ownFixedMicros: perTenantFixed,
      sharedFixedMicros: shares[i]!,
      totalMicros: sum + perTenantFixed + shares[i]!,
    };
  });
  const variableSum = METERS.reduce((a, m) => a + variable[m], 0);
  const ownFixedMicros = perTenantFixed * ids.length;
  return {
    tenants,
    platform: {
      usage: platformUsage,
      variableMicros: variable,
      ownFixedMicros,
      sharedFixedMicros: ids.length > 0 ? sharedFixed : 0,
      totalMicros: variableSum + ownFixedMicros + (ids.length > 0 ? sharedFixed : 0),
    },
  };
}

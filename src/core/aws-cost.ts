/**
 * The monthly cost of a tenant on AWS, item by item, from list prices (us-east-1, as of 2026-11-27; check
 * https://aws.amazon.com/pricing/ before quoting). docs/aws.md "Monthly cost per tenant" is this model's table;
 * LIST_PRICES (src/core/advisor.ts) is its summary for the placement advisor. Free tiers are ignored.
 */
export const AWS_LIST_PRICES = {
  /** KMS: $1 per key-month; each of the first two automatic rotations adds $1 per month (capped at $3). */
  kmsKeyMonthUsd: 1,
  kmsRotationMonthUsd: 1,
  kmsRotationsCharged: 2,
  /** Key requests per dedicated tenant a month (bucket keys and SQS data-key reuse keep them few). */
  kmsRequestsMonthUsd: 0.1,
  dashboardMonthUsd: 3,
  alarmMonthUsd: 0.1,
  customMetricMonthUsd: 0.3,
  /** One queue long-polled by a Lambda event source when idle: about 648,000 receives a month at $0.40/M. */
  idleQueueMonthUsd: 0.26,
  /** X-Ray: $5.00 per million traces recorded. */
  xrayTraceUsd: 5 / 1_000_000,
  /** CloudTrail data events (S3 objects, DynamoDB items), where a trail logs them: $0.10 per 100,000. */
  cloudTrailDataEventUsd: 0.1 / 100_000,
} as const;

/** Usage per job besides tracing and data events ($6.73 per 100,000 jobs; the stated assumptions in docs/aws.md). */
export const USAGE_PER_JOB_USD = 6.73 / 100_000;
/** Traces a job records when every request is sampled: 4 API requests and one model run. */
export const TRACES_PER_JOB = 5;
/** Data events a job makes: 7 DynamoDB writes, 9 reads, one S3 PUT and one GET. */
export const DATA_EVENTS_PER_JOB = 18;

export interface CostOptions {
  /** Models, each a lane (queue, dead-letter queue, function, 2 alarms). Default 2. */
  models?: number;
  /** X-Ray tracing on the functions (default true). */
  xray?: boolean;
  /** A CloudTrail trail logging data events of the tables and buckets (default false). */
  cloudTrailDataEvents?: boolean;
  /** A dedicated tenant's own dashboard (default true; see TENANT_DASHBOARDS_UP_TO). */
  tenantDashboard?: boolean;
  /** Automatic key rotations so far (0 in the first year, 1 in the second, 2 from the third on; default 2). */
  kmsRotations?: number;
  /** Shared tenants the platform's fixed cost is spread over (default 100). */
  sharedTenants?: number;
}

/** Usage cost of one job, USD. */
export function perJobUsd(options: CostOptions = {}): number {
  const p = AWS_LIST_PRICES;
  return (
    USAGE_PER_JOB_USD +
    ((options.xray ?? true) ? TRACES_PER_JOB * p.xrayTraceUsd : 0) +
    (options.cloudTrailDataEvents ? DATA_EVENTS_PER_JOB * p.cloudTrailDataEventUsd : 0)
  );
}

/** Three EMF metrics carry the tenant's TenantId dimension: JobsProcessed, JobFailures, JobDuration. */
const PER_TENANT_METRICS = 3;

/** What every tenant costs a month whatever its placement: its EMF metrics with its `TenantId`. */
export const PER_TENANT_MONTH_USD = PER_TENANT_METRICS * AWS_LIST_PRICES.customMetricMonthUsd;

/**
 * The platform's own fixed monthly cost, shared by its tenants: the dashboard, alarms (2 per shared lane,
 * the control function's errors, the webhook and user-notification dead letters) and idle polling (the
 * shared lanes, `system_webhooks` and `system_notifications`).
 */
export function platformFixedUsd(options: CostOptions = {}): number {
  const p = AWS_LIST_PRICES;
  const models = options.models ?? 2;
  return p.dashboardMonthUsd + (2 * models + 3) * p.alarmMonthUsd + (models + 2) * p.idleQueueMonthUsd;
}

/** Fixed monthly cost of a shared tenant: its metrics and its share of the platform's dashboard, alarms, polling. */
export function sharedFixedUsd(options: CostOptions = {}): number {
  return PER_TENANT_MONTH_USD + platformFixedUsd(options) / (options.sharedTenants ?? 100);
}

/** Fixed monthly cost of a dedicated tenant's stack. */
export function dedicatedFixedUsd(options: CostOptions = {}): number {
  const p = AWS_LIST_PRICES;
  const models = options.models ?? 2;
  const rotations = Math.min(options.kmsRotations ?? p.kmsRotationsCharged, p.kmsRotationsCharged);
  return (
    p.kmsKeyMonthUsd +
    rotations * p.kmsRotationMonthUsd +
    p.kmsRequestsMonthUsd +
    ((options.tenantDashboard ?? true) ? p.dashboardMonthUsd : 0) +
    2 * models * p.alarmMonthUsd +
    // The job failure rate alarm (infra/constructs/tenant-widgets.ts): metric math over 2 metrics, and a
    // math alarm is charged per metric it reads (CloudWatch pricing).
    2 * p.alarmMonthUsd +
    models * p.idleQueueMonthUsd +
    PER_TENANT_METRICS * p.customMetricMonthUsd
  );
}

/** A tenant's monthly cost in both placements, USD. */
export function monthlyTenantCost(jobsPerMonth: number, options: CostOptions = {}) {
  const usage = jobsPerMonth * perJobUsd(options);
  return { usage, shared: usage + sharedFixedUsd(options), dedicated: usage + dedicatedFixedUsd(options) };
}

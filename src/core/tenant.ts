import type { TenantId } from './ids.ts';

export type Placement = 'shared' | 'dedicated';
export type TenantStatus = 'active' | 'suspended' | 'offboarding';
export type Plan = 'free' | 'standard' | 'enterprise';
export const PLANS: readonly Plan[] = ['free', 'standard', 'enterprise'];
/** The plan of a tenant created without one, on every way in (API, CLI, console, tenants.yaml). */
export const DEFAULT_PLAN: Plan = 'standard';

/** How a tenant shapes one model's input: defaults, fixed values, narrowed ranges, conventions. */
export interface ModelRules {
  /** JSON-pointer-like dotted paths (`loan.annualRate`) to default values. */
  defaults?: Record<string, unknown>;
  /** Values the tenant's users cannot change; hidden from the tenant's form. */
  fixed?: Record<string, unknown>;
  /** Narrowed numeric ranges by dotted path. */
  ranges?: Record<string, { minimum?: number; maximum?: number }>;
  /** Decimal places for reported (summary) figures; the model keeps full precision internally. */
  rounding?: number;
}

export interface Formatting {
  companyName?: string;
  currency?: string;
  locale?: string;
  /** Excel number format for money, e.g. `#,##0.00 [$€-407]`; derived from currency/locale when absent. */
  numberFormat?: string;
  dateFormat?: string;
  /** Hex colour without `#`, e.g. `1F4E79`. */
  brandColor?: string;
  /** A PNG as base64 (small), placed in the workbook header. */
  logoPng?: string;
  sheetNames?: Record<string, string>;
}

export interface TenantLimits {
  maxRunningJobs: number;
  maxQueuedJobs: number;
  submitRatePerSec: number;
  submitBurst: number;
  /** Relative share of shared capacity in fair scheduling. */
  weight: number;
  /**
   * Seconds one job may run on a shared function before its thread is stopped and the job fails with
   * `timeout` (dedicated functions have `function.timeoutSec` instead).
   */
  jobTimeoutSec: number;
  /** Largest cost (the model's estimate from the input, `ModelDefinition.cost`) one submitted job may have. */
  maxJobCost: number;
}

/** The two limits of one job, which a tenant's `limits.models` may set per model. */
export type JobLimits = Pick<TenantLimits, 'jobTimeoutSec' | 'maxJobCost'>;

/** A tenant's limit overrides: every limit for all models, and the per-job ones for one model. */
export type LimitOverrides = Partial<TenantLimits> & { models?: Record<string, Partial<JobLimits>> };

export interface FunctionSettings {
  reservedConcurrency: number;
  memoryMb: number;
  timeoutSec: number;
  idleTimeoutSec: number;
  /**
   * Processes kept warm whether events arrive or not (Lambda's provisioned concurrency; embedded, any value
   * above 0 keeps the tenant's one process per model started and never idle-stopped): no cold start.
   */
  provisionedConcurrency: number;
}

export interface WebhookConfig {
  url: string;
  /** Standard Webhooks secret, `whsec_…` base64. */
  secret: string;
}

/** How the placement advisor treats a tenant: only advise (default), or move it automatically. */
export interface PlacementPolicy {
  mode: 'advise' | 'auto';
  /** The tenant's contract requires isolated resources: always dedicated. */
  requiresIsolation?: boolean;
}

export interface TenantConfig {
  rules: Record<string, ModelRules>;
  placementPolicy?: PlacementPolicy;
  formatting: Formatting;
  limits: LimitOverrides;
  function: Partial<FunctionSettings>;
  webhook?: WebhookConfig;
}

export interface ApiKeyRecord {
  id: string;
  /** sha256 of the whole key, hex. The key itself is shown once and never stored. */
  hash: string;
  /** The key's first characters (`sp_{tenant}_abcd`), so operators can tell keys apart; absent on old keys. */
  prefix?: string;
  createdAt: string;
  /** Set when the key was rotated with a grace period: it stops working at this instant (ISO 8601). */
  expiresAt?: string;
  /** When the key last authenticated a request, to the minute (best effort, see `touchApiKey`). */
  lastUsedAt?: string;
}

export interface Tenant {
  id: TenantId;
  name: string;
  status: TenantStatus;
  placement: Placement;
  plan: Plan;
  config: TenantConfig;
  apiKeys: ApiKeyRecord[];
  /**
   * The release (a versioned bundle of model code, see src/models/release-catalog.ts) a dedicated tenant's
   * functions run, set by the upgrade operation; absent: the platform's current release.
   */
  release?: string;
  /** Model versions the tenant is pinned to (`{ "finance": "1.1.0" }`): its jobs run on these, whatever the release. */
  pins?: Record<string, string>;
  /** The region its contract names (data residency); absent: the platform's region. */
  region?: string;
  /**
   * Set when a user of the tenant first opts in to notifications (email or Web Push): from then on its
   * finished jobs are announced for user notifications; before, they skip that announcement and its queue.
   */
  notifiesUsers?: boolean;
  /** Present while a placement move runs; routing reads it. */
  move?: { operationId: string; from: Placement; to: Placement; phase: string };
  createdAt: string;
  /**
   * Random per onboarding: a tenant offboarded and onboarded again under the same id is a new
   * incarnation, and credentials bound to the old one grant nothing. Absent on records made before it existed.
   */
  incarnation?: string;
  updatedAt: string;
  /** Incremented on every write; updates are compare-and-set on it. */
  version: number;
}

/**
 * Which incarnation of its id a tenant record is: its `incarnation`, or its `createdAt` on records made
 * before incarnations existed. A tenant id offboarded and onboarded again is another customer: what was
 * bound to the former one (credentials, an offboarding, a model variant) must not reach the new one.
 */
export function incarnationOf(tenant: Pick<Tenant, 'incarnation' | 'createdAt'>): string {
  return tenant.incarnation ?? tenant.createdAt;
}

/**
 * Cost ceilings are in the models' cost units (1 = a small DCF; a funds path-period is 1/12): free admits
 * 10,000 quarterly paths over 30 years, about half a second of one core; standard every input the schemas
 * allow (100,000 paths × 30 years × 4 = 1,000,010). Time limits leave a job at its ceiling ten times its
 * unloaded run time or more.
 */
export const PLAN_LIMITS: Record<Plan, TenantLimits> = {
  free: {
    maxRunningJobs: 2,
    maxQueuedJobs: 100,
    submitRatePerSec: 2,
    submitBurst: 10,
    weight: 1,
    jobTimeoutSec: 30,
    maxJobCost: 150_000,
  },
  standard: {
    maxRunningJobs: 8,
    maxQueuedJobs: 10_000,
    submitRatePerSec: 50,
    submitBurst: 200,
    weight: 2,
    jobTimeoutSec: 120,
    maxJobCost: 1_500_000,
  },
  enterprise: {
    maxRunningJobs: 32,
    maxQueuedJobs: 100_000,
    submitRatePerSec: 500,
    submitBurst: 2000,
    weight: 4,
    jobTimeoutSec: 300,
    maxJobCost: 10_000_000,
  },
};

export const DEFAULT_FUNCTION_SETTINGS: FunctionSettings = {
  reservedConcurrency: 2,
  memoryMb: 512,
  timeoutSec: 300,
  idleTimeoutSec: 60,
  provisionedConcurrency: 0,
};

/** A numeric setting's allowed values: the one source for the settings schema and for the readers below. */
export interface SettingRange {
  minimum: number;
  maximum?: number;
  integer: boolean;
  /** The minimum itself is not allowed (a weight of 0 would starve the tenant). */
  exclusiveMinimum?: boolean;
}

/**
 * Smallest reserved concurrency of a dedicated tenant's functions on AWS: their SQS event source's
 * `MaximumConcurrency` is at least 2 (AWS) and should not exceed the reserved concurrency.
 */
export const AWS_MIN_RESERVED_CONCURRENCY = 2;

/**
 * The longest any job may run on a function, seconds (Lambda's maximum, the top of `jobTimeoutSec` and of
 * `function.timeoutSec`): the limit of a job whose own cannot be looked up (its tenant unknown, its message
 * unreadable), so that no message is held for ever by a run that hangs.
 */
export const MAX_JOB_TIMEOUT_SEC = 900;

/** What Lambda (and the tenant stack's parameters) accept for a dedicated function. */
export const FUNCTION_SETTING_RANGES: Record<keyof FunctionSettings, SettingRange> = {
  reservedConcurrency: { minimum: 0, maximum: 1000, integer: true },
  memoryMb: { minimum: 128, maximum: 10240, integer: true },
  timeoutSec: { minimum: 1, maximum: MAX_JOB_TIMEOUT_SEC, integer: true },
  idleTimeoutSec: { minimum: 1, maximum: 86_400, integer: true },
  provisionedConcurrency: { minimum: 0, maximum: 1000, integer: true },
};

/** A tenant's weight in fair scheduling lies in [WEIGHT_MIN, WEIGHT_MAX]: at most 10,000 times another's. */
export const WEIGHT_MIN = 0.01;
export const WEIGHT_MAX = 100;

export const LIMIT_RANGES: Record<keyof TenantLimits, SettingRange> = {
  maxRunningJobs: { minimum: 0, integer: true },
  maxQueuedJobs: { minimum: 0, integer: true },
  submitRatePerSec: { minimum: 0, integer: false },
  submitBurst: { minimum: 0, integer: true },
  // Bounded both ways: fair scheduling charges cost / weight, so 5e-324 made every virtual time infinite
  // (the queue became alphabetical priority) and 1e308 gave one tenant strict priority over all others.
  weight: { minimum: WEIGHT_MIN, maximum: WEIGHT_MAX, integer: false },
  // A shared thread held longer than 15 minutes is what dedicated placement is for (Lambda's own maximum).
  jobTimeoutSec: { minimum: 1, maximum: MAX_JOB_TIMEOUT_SEC, integer: true },
  maxJobCost: { minimum: 1, maximum: 1e9, integer: false },
};

/** The per-model overrides (`limits.models.{model}`) take the same ranges as the tenant-wide ones. */
export const JOB_LIMIT_RANGES: Record<keyof JobLimits, SettingRange> = {
  jobTimeoutSec: LIMIT_RANGES.jobTimeoutSec,
  maxJobCost: LIMIT_RANGES.maxJobCost,
};

export function inRange(value: unknown, range: SettingRange): value is number {
  return (
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!range.integer || Number.isInteger(value)) &&
    (range.exclusiveMinimum ? value > range.minimum : value >= range.minimum) &&
    (range.maximum === undefined || value <= range.maximum)
  );
}

/**
 * `defaults` with each setting the tenant set, when it is own and in range. Settings are checked where they
 * enter; this keeps a record changed behind the API from reaching the scheduler every tenant shares.
 */
function overlay<T extends object>(defaults: T, set: unknown, ranges: Record<keyof T, SettingRange>): T {
  const out = { ...defaults };
  if (set === null || typeof set !== 'object') return out;
  for (const key of Object.keys(ranges) as (keyof T & string)[]) {
    const value = Object.hasOwn(set, key) ? (set as Record<string, unknown>)[key] : undefined;
    if (inRange(value, ranges[key])) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

export function limitsFor(tenant: Pick<Tenant, 'plan' | 'config'>): TenantLimits {
  const plan = Object.hasOwn(PLAN_LIMITS, tenant.plan) ? PLAN_LIMITS[tenant.plan] : PLAN_LIMITS.free;
  return overlay(plan, tenant.config?.limits, LIMIT_RANGES);
}

/**
 * One job's limits for `model`: the plan's, then the tenant's `limits`, then its `limits.models[model]`,
 * each setting only when own and in range. Pure.
 */
export function jobLimitsFor(tenant: Pick<Tenant, 'plan' | 'config'>, model: string): JobLimits {
  const limits = limitsFor(tenant);
  const tenantWide: JobLimits = { jobTimeoutSec: limits.jobTimeoutSec, maxJobCost: limits.maxJobCost };
  const models = ownObject(tenant.config?.limits, 'models');
  return overlay(tenantWide, models && ownObject(models, model), JOB_LIMIT_RANGES);
}

export function functionSettingsFor(tenant: Pick<Tenant, 'config'>): FunctionSettings {
  return overlay(DEFAULT_FUNCTION_SETTINGS, tenant.config?.function, FUNCTION_SETTING_RANGES);
}

/** `value[key]` when `value` is an object with that own key holding an object; never the prototype's. */
function ownObject(value: unknown, key: string): object | undefined {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return found !== null && typeof found === 'object' ? found : undefined;
}

export function emptyConfig(): TenantConfig {
  return { rules: {}, formatting: {}, limits: {}, function: {} };
}

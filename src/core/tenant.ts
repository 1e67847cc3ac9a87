import type { TenantId } from './ids.ts';

export type Placement = 'shared' | 'dedicated';
export type TenantStatus = 'active' | 'suspended' | 'offboarding';
export type Plan = 'free' | 'standard' | 'enterprise';

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
}

export interface FunctionSettings {
  reservedConcurrency: number;
  memoryMb: number;
  timeoutSec: number;
  idleTimeoutSec: number;
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
  limits: Partial<TenantLimits>;
  function: Partial<FunctionSettings>;
  webhook?: WebhookConfig;
}

export interface ApiKeyRecord {
  id: string;
  /** sha256 of the whole key, hex. The key itself is shown once and never stored. */
  hash: string;
  createdAt: string;
}

export interface Tenant {
  id: TenantId;
  name: string;
  status: TenantStatus;
  placement: Placement;
  plan: Plan;
  config: TenantConfig;
  apiKeys: ApiKeyRecord[];
  /** Present while a placement move runs; routing reads it. */
  move?: { operationId: string; from: Placement; to: Placement; phase: string };
  createdAt: string;
  updatedAt: string;
  /** Incremented on every write; updates are compare-and-set on it. */
  version: number;
}

export const PLAN_LIMITS: Record<Plan, TenantLimits> = {
  free: { maxRunningJobs: 2, maxQueuedJobs: 100, submitRatePerSec: 2, submitBurst: 10, weight: 1 },
  standard: { maxRunningJobs: 8, maxQueuedJobs: 10_000, submitRatePerSec: 50, submitBurst: 200, weight: 2 },
  enterprise: {
    maxRunningJobs: 32,
    maxQueuedJobs: 100_000,
    submitRatePerSec: 500,
    submitBurst: 2000,
    weight: 4,
  },
};

export const DEFAULT_FUNCTION_SETTINGS: FunctionSettings = {
  reservedConcurrency: 2,
  memoryMb: 512,
  timeoutSec: 300,
  idleTimeoutSec: 60,
};

export function limitsFor(tenant: Pick<Tenant, 'plan' | 'config'>): TenantLimits {
  return { ...PLAN_LIMITS[tenant.plan], ...tenant.config.limits };
}

export function functionSettingsFor(tenant: Pick<Tenant, 'config'>): FunctionSettings {
  return { ...DEFAULT_FUNCTION_SETTINGS, ...tenant.config.function };
}

export function emptyConfig(): TenantConfig {
  return { rules: {}, formatting: {}, limits: {}, function: {} };
}

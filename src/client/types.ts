/**
 * Wire types of the Silopool v1 API, written by hand to mirror the OpenAPI document
 * (`test/web/client-openapi.test.ts` checks the routes against it). They import nothing from
 * the server so the client can be copied or published on its own.
 */

export type Role = 'operator' | 'user' | 'metrics';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type Placement = 'shared' | 'dedicated';
export type TenantStatus = 'active' | 'suspended' | 'offboarding';
export type Plan = 'free' | 'standard' | 'enterprise';
/** The plan the API gives a tenant created without one (the server's `DEFAULT_PLAN`; a test keeps them equal). */
export const DEFAULT_PLAN: Plan = 'standard';

export type JsonSchema = { [key: string]: unknown };

export interface AuthConfig {
  mode: 'embedded' | 'oidc';
  oidc?: {
    issuer: string;
    clientId: string;
    authorizationEndpoint: string;
    tokenEndpoint: string;
    scope: string;
  };
}

export interface Me {
  subject: string;
  roles: Role[];
  tenants: { id: string; name: string }[];
}

export interface ModelInfo {
  name: string;
  version: string;
  title: string;
  description: string;
  /** JSON Schema as the tenant's rules shape it: fixed fields removed, defaults and ranges applied. */
  inputSchema: JsonSchema;
  /** What one job may take for this tenant (see docs/operations.md, Limits). */
  limits?: {
    /** Cost units; a job above it is refused with 422 `cost_limit_exceeded`. */
    maxJobCost: number;
    /** The input fields (JSON Pointers, `/input/simulations`) the cost grows with. */
    costFields: string[];
    /** Seconds a job may run on a shared function before it fails with `timeout`. */
    jobTimeoutSec: number;
  };
  /** What each figure of a job's summary measures, by the summary's shape: `{ netIrr: 'fraction' }`. */
  summaryUnits?: SummaryUnits;
}

/** `money` is in the summary's `currency`; `fraction` is a rate (0.05 is 5 %); `multiple` a ratio (1.5×). */
export type SummaryUnits =
  | 'money'
  | 'fraction'
  | 'multiple'
  | readonly [SummaryUnits]
  | { readonly [key: string]: SummaryUnits };

export interface SeriesPoint {
  label: string | number;
  value: number;
}

export interface ArtifactInfo {
  name: string;
  contentType: string;
  size: number;
  url: string;
}

export interface JobWarning {
  code: string;
  message: string;
  /** The input field, as a JSON pointer (`/input/discountRate`). */
  path?: string;
  /** The result figure (`enterpriseValue`). */
  figure?: string;
}

export interface Job {
  id: string;
  tenantId: string;
  model: string;
  modelVersion: string;
  status: JobStatus;
  input: unknown;
  effectiveInput: unknown;
  summary?: Record<string, unknown>;
  /** Inputs that look mistyped (a rate of 5 meaning 5 %) and figures that may mislead; the job runs regardless. */
  warnings?: JobWarning[];
  series?: Record<string, SeriesPoint[]>;
  artifacts: ArtifactInfo[];
  /**
   * What the workbook was rendered with: formatting (logo by SHA-256), its SHA-256, the model version, the
   * tenant rules its validation and locked cells follow (and their SHA-256), the tenant name it names.
   */
  rendering?: {
    formatting: Omit<Formatting, 'logoPng'> & { logoPngSha256?: string };
    formattingSha256: string;
    modelVersion: string;
    /** Absent on jobs rendered before they were recorded. */
    rules?: ModelRules;
    rulesSha256?: string;
    tenantName?: string;
  };
  error?: { code: string; message: string };
  /** While it runs, how far the model got (`{ done: 1200, total: 5000, unit: 'paths' }`), if it reports it. */
  progress?: JobProgress;
  /** Deliveries that started running it; more than one means a retry. */
  attempts: number;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  links: { self: string; events: string; artifacts?: string };
}

export interface JobProgress {
  done: number;
  total: number;
  unit: string;
  /** When it was recorded (ISO 8601); absent on progress recorded before this was. */
  at?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface JobFilter {
  status?: JobStatus;
  model?: string;
  limit?: number;
  cursor?: string;
}

export interface ModelRules {
  defaults?: Record<string, unknown>;
  fixed?: Record<string, unknown>;
  ranges?: Record<string, { minimum?: number; maximum?: number }>;
  rounding?: number;
}

export interface Formatting {
  companyName?: string;
  currency?: string;
  locale?: string;
  dateFormat?: string;
  brandColor?: string;
  sheetNames?: Record<string, string>;
}

export interface TenantLimits {
  maxRunningJobs?: number;
  maxQueuedJobs?: number;
  submitRatePerSec?: number;
  submitBurst?: number;
  weight?: number;
  /** Seconds one job may run on a shared function; past it the job fails with `timeout`. */
  jobTimeoutSec?: number;
  /** Largest cost (units) one job may have; a larger one is refused at submit. */
  maxJobCost?: number;
  /** The two per-job limits for one model, over the ones above. */
  models?: Record<string, { jobTimeoutSec?: number; maxJobCost?: number }>;
}

/** A dedicated tenant's functions (locally its processes, on AWS its stack's Lambdas). */
export interface FunctionSettings {
  reservedConcurrency?: number;
  memoryMb?: number;
  timeoutSec?: number;
  idleTimeoutSec?: number;
}

export interface TenantConfig {
  rules: Record<string, ModelRules>;
  formatting: Formatting;
  limits: TenantLimits;
  function?: FunctionSettings;
}

export interface Tenant {
  id: string;
  name: string;
  status: TenantStatus;
  placement: Placement;
  plan: Plan;
  config: TenantConfig;
  move?: { operationId: string; from: Placement; to: Placement; phase: string };
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface CreateTenant {
  id: string;
  name: string;
  placement?: Placement;
  plan?: Plan;
  config?: Partial<TenantConfig>;
}

export interface CreatedTenant {
  tenant: Tenant;
  /** Shown once; only its hash is stored. */
  apiKey: string;
  /** The promotion to its own resources, when they take minutes (a stack on AWS). */
  operation?: { id: string; url: string };
}

/** An API key as operators see it: never the secret or its hash. */
export interface ApiKey {
  id: string;
  /** The key's first characters (`sp_{tenant}_abcd`), to tell keys apart. */
  prefix: string;
  createdAt: string;
  /** End of its grace period, when it was rotated with one. */
  expiresAt?: string;
  /** To the minute. */
  lastUsedAt?: string;
}

export interface RotatedApiKey {
  /** The new key, shown once. */
  apiKey: string;
  key: ApiKey;
  /** The key it replaces: revoked at once, or working until `expiresAt`. */
  replaced: ApiKey & { revoked: boolean };
}

export interface UpdateTenant {
  name?: string;
  status?: TenantStatus;
  plan?: Plan;
  config?: Partial<TenantConfig>;
}

/** The signed-in user's notification settings in one tenant (`GET /v1/me/notifications`). */
export interface NotificationSettings {
  /** What the platform offers: email when it has an SMTP server, Web Push with its VAPID public key. */
  channels: { email: boolean; push: { vapidPublicKey: string } | null };
  optIn: { email: boolean; push: boolean };
  /** `pending`: a code was mailed and not yet entered. */
  email: { address: string; verified: boolean; pending: boolean } | null;
  /** Subscribed browsers, by their push service's origin. */
  push: { id: string; origin: string; createdAt: string }[];
}

/** One step of a job's timeline (see `GET /v1/jobs/{id}/timeline`). */
export interface JobTimelineStep {
  step: string;
  at: string;
  /** Milliseconds until the next step; absent on the last. */
  durationMs?: number;
  attempt?: number;
  lane?: string;
  fn?: string;
  detail?: string;
  /** Operators' views only: a failure's raw cause, who acted (never in a tenant's own view). */
  internal?: string;
}

export interface JobTimeline {
  jobId: string;
  tenantId: string;
  status: JobStatus;
  attempts: number;
  traceId?: string;
  steps: JobTimelineStep[];
}

export interface JobLogEntry {
  at: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, string | number | boolean>;
  /** Operators' views only: a failure's raw cause. */
  internal?: string;
}

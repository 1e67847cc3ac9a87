import type {
  BillingMonth,
  BillingPlan,
  BillingSummary,
  Statement,
  TenantBillingUsage,
} from './billing-types.ts';
import { watchJobEvents } from './job-watch.ts';
import type {
  ActiveAlert,
  AlertRule,
  DeadLetter,
  JobStoryView,
  MetricsHistory,
  Operation,
  OperatorJob,
  OperatorJobFilter,
  PlacementAdvice,
  QueueDepth,
  Release,
  Rollout,
  UsageReport,
} from './operator-types.ts';
import { ProblemError, problemFrom } from './problem.ts';
import { ApiTransport, type ClientOptions, enc, fileNameFrom } from './transport.ts';
import type {
  ApiKey,
  AuthConfig,
  CreatedTenant,
  CreateTenant,
  Job,
  JobFilter,
  JobLogEntry,
  JobTimeline,
  Me,
  ModelInfo,
  NotificationSettings,
  Page,
  Placement,
  RotatedApiKey,
  Tenant,
  UpdateTenant,
} from './types.ts';

export { isTerminal } from './job-watch.ts';
export { CLIENT_ROUTES } from './routes.ts';
export { type ClientOptions, fileNameFrom } from './transport.ts';

/** A typed client of the Silopool v1 API; works in browsers and in Node 20+ (global fetch). */
export class SilopoolClient extends ApiTransport {
  /** The same credentials scoped to another tenant. */
  forTenant(tenantId: string | undefined): SilopoolClient {
    return new SilopoolClient({ ...this.options, tenantId });
  }

  // --- auth ---
  authConfig(): Promise<AuthConfig> {
    return this.json('GET', '/v1/auth/config');
  }
  me(): Promise<Me> {
    return this.json('GET', '/v1/me');
  }

  // --- tenant portal ---
  async listModels(): Promise<ModelInfo[]> {
    return (await this.json<Page<ModelInfo>>('GET', '/v1/models')).items;
  }
  submitJob(model: string, input: unknown, options: { idempotencyKey?: string } = {}): Promise<Job> {
    const headers = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined;
    return this.json('POST', `/v1/models/${enc(model)}/jobs`, { body: { input }, headers });
  }
  listJobs(filter: JobFilter = {}): Promise<Page<Job>> {
    return this.json('GET', '/v1/jobs', { query: { ...filter } });
  }
  getJob(id: string): Promise<Job> {
    return this.json('GET', `/v1/jobs/${enc(id)}`);
  }
  cancelJob(id: string): Promise<Job> {
    return this.json('DELETE', `/v1/jobs/${enc(id)}`);
  }
  /** The job on every status change until it is terminal, across dropped streams (`watchJobEvents`). */
  watchJob(id: string, signal?: AbortSignal): AsyncGenerator<Job> {
    return watchJobEvents(
      (s) =>
        this.send('GET', `/v1/jobs/${enc(id)}/events`, {
          headers: { accept: 'text/event-stream' },
          signal: s,
        }),
      () => this.getJob(id),
      signal,
    );
  }

  /** Downloads an artifact; the file name comes from Content-Disposition, else the artifact name. */
  async downloadArtifact(jobId: string, name: string): Promise<{ blob: Blob; fileName: string }> {
    const res = await this.send('GET', `/v1/jobs/${enc(jobId)}/artifacts/${enc(name)}`);
    if (!res.ok) throw await problemFrom(res);
    const fileName = fileNameFrom(res.headers.get('content-disposition')) ?? name;
    return { blob: await res.blob(), fileName };
  }

  // --- operator console ---
  listTenants(query: { limit?: number; cursor?: string } = {}): Promise<Page<Tenant>> {
    return this.json('GET', '/v1/admin/tenants', { query });
  }
  /**
   * `operation` is present when a dedicated tenant's own resources take minutes (a stack on AWS): the
   * tenant serves shared at once and the operation promotes it when they are ready.
   */
  createTenant(body: CreateTenant): Promise<CreatedTenant> {
    return this.json('POST', '/v1/admin/tenants', { body });
  }
  getTenant(id: string): Promise<Tenant> {
    return this.json('GET', `/v1/admin/tenants/${enc(id)}`);
  }
  updateTenant(id: string, patch: UpdateTenant): Promise<Tenant> {
    return this.json('PATCH', `/v1/admin/tenants/${enc(id)}`, { body: patch });
  }
  /** Starts offboarding (or answers the offboarding in flight): the operation to follow. */
  offboardTenant(id: string): Promise<Operation> {
    return this.json('DELETE', `/v1/admin/tenants/${enc(id)}`);
  }
  movePlacement(id: string, placement: 'shared' | 'dedicated'): Promise<Operation> {
    return this.json('POST', `/v1/admin/tenants/${enc(id)}/placement`, { body: { placement } });
  }
  getOperation(id: string): Promise<Operation> {
    return this.json('GET', `/v1/admin/operations/${enc(id)}`);
  }
  /** The tenant's operations, newest first. */
  async listOperations(tenantId: string): Promise<Operation[]> {
    return (await this.json<Page<Operation>>('GET', `/v1/admin/tenants/${enc(tenantId)}/operations`)).items;
  }
  /** `current` is null, and `pointer` says why, while the current release pointer is damaged (a rollout repairs it). */
  listReleases(): Promise<{
    current: string | null;
    pointer?: { code: string; message: string };
    items: Release[];
    invalid: { id: string; message: string }[];
  }> {
    return this.json('GET', '/v1/admin/releases');
  }
  /**
   * Starts an upgrade (or answers the one in flight for the same release): the operation to follow. Seconds and
   * jobs as `POST /v1/admin/releases/{id}/rollout` takes them.
   */
  startRollout(
    release: string,
    options: {
      canary?: string;
      growth?: number;
      observeSec?: number;
      minJobs?: number;
      maxObserveSec?: number;
    } = {},
  ) {
    return this.json<Rollout>('POST', `/v1/admin/releases/${enc(release)}/rollout`, { body: options });
  }
  /** Asks a running upgrade to stop: its wave in progress is rolled back; it ends `failed`, code `aborted`. */
  abortRollout(id: string, reason?: string): Promise<Rollout> {
    return this.json<Rollout>('POST', `/v1/admin/rollouts/${enc(id)}/abort`, {
      body: reason !== undefined ? { reason } : {},
    });
  }
  async listRollouts(): Promise<Rollout[]> {
    return (await this.json<Page<Rollout>>('GET', '/v1/admin/rollouts')).items;
  }
  async listQueues(): Promise<QueueDepth[]> {
    return (await this.json<Page<QueueDepth>>('GET', '/v1/admin/queues')).items;
  }
  async listDeadLetters(queue: string): Promise<DeadLetter[]> {
    return (await this.json<Page<DeadLetter>>('GET', '/v1/admin/dead-letters', { query: { queue } })).items;
  }
  redrive(queue: string): Promise<{ moved: number; skipped?: number }> {
    return this.json('POST', '/v1/admin/dead-letters/redrive', { body: { queue } });
  }
  /** Usage and cost per tenant over one period, stated as `from`/`to` (default: this UTC month so far). */
  usage(query: { days?: number; month?: string } = {}): Promise<UsageReport> {
    return this.json('GET', '/v1/admin/usage', { query });
  }
  /** One metric over time for one tenant, or the platform when `tenantId` is absent (default: last 24 h). */
  metricsHistory(
    metric: string,
    range: { tenantId?: string | undefined; from?: string; to?: string } = {},
  ): Promise<MetricsHistory> {
    return this.json<MetricsHistory>('GET', '/v1/admin/metrics/history', {
      query: { metric, tenant: range.tenantId, from: range.from, to: range.to },
    });
  }
  /** Alerts firing now (evaluated on metrics history) and every rule. */
  alerts(): Promise<{ items: ActiveAlert[]; rules: AlertRule[] }> {
    return this.json('GET', '/v1/admin/alerts');
  }
  async advisor(): Promise<PlacementAdvice[]> {
    return (await this.json<Page<PlacementAdvice>>('GET', '/v1/admin/advisor')).items;
  }
  /**
   * Starts the recommended moves; answers those started. Throws the first refusal when the server started
   * none and refused some (a tenant that changed after the advice was read: being offboarded, already moving).
   */
  async applyAdvice(
    tenantIds?: string[],
  ): Promise<{ tenantId: string; to: Placement; operationId: string }[]> {
    const body = tenantIds ? { tenantIds } : {};
    const answer = await this.json<
      Page<{ tenantId: string; to: Placement; operationId: string }> & {
        refused?: { tenantId: string; status: number; code: string; detail: string }[];
      }
    >('POST', '/v1/admin/advisor/apply', { body });
    const first = answer.refused?.[0];
    if (first && answer.items.length === 0) {
      throw new ProblemError({
        type: 'about:blank',
        title: 'Move refused',
        status: first.status,
        code: first.code,
        detail: `${first.tenantId}: ${first.detail}`,
      });
    }
    return answer.items;
  }
  /** Revenue, cost and margin per tenant for a UTC month (`YYYY-MM`; default this month). */
  billingSummary(month?: string): Promise<BillingSummary> {
    return this.json('GET', '/v1/admin/billing/summary', { query: month ? { month } : {} });
  }
  async billingMonths(months = 6): Promise<BillingMonth[]> {
    return (await this.json<Page<BillingMonth>>('GET', '/v1/admin/billing/months', { query: { months } }))
      .items;
  }
  async plans(): Promise<BillingPlan[]> {
    return (await this.json<{ plans: BillingPlan[] }>('GET', '/v1/admin/billing/plans')).plans;
  }
  /** Changes a tenant's plan; a caller that retries passes one `idempotencyKey` for all its tries. */
  changePlan(
    tenantId: string,
    planId: string,
    effective?: string,
    options: { idempotencyKey?: string } = {},
  ): Promise<{ applied: boolean }> {
    const headers = options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined;
    return this.json('POST', `/v1/admin/tenants/${enc(tenantId)}/plan`, {
      body: { planId, ...(effective ? { effective } : {}) },
      headers,
    });
  }
  /** A tenant's statements (operator view, with cost and margin). */
  async tenantStatements(tenantId: string): Promise<Statement[]> {
    return (await this.json<Page<Statement>>('GET', `/v1/admin/tenants/${enc(tenantId)}/statements`)).items;
  }
  /** This tenant's usage this month against its plan (tenant audience). */
  billingUsage(): Promise<TenantBillingUsage> {
    return this.json('GET', '/v1/billing/usage');
  }
  /** This tenant's statements (tenant audience: no cost or margin). */
  async statements(): Promise<Statement[]> {
    return (await this.json<Page<Statement>>('GET', '/v1/billing/statements')).items;
  }
  /** A token from the embedded issuer; `expiresIn` like `'15m'` (the server's default and maximum apply). */
  mintToken(body: {
    tenants: string[];
    user: string;
    roles?: string[];
    expiresIn?: string;
  }): Promise<{ token: string; expiresAt: string }> {
    return this.json('POST', '/v1/admin/tokens', { body });
  }
  /** The tenant's working API keys: ids, prefixes and dates, never the secrets. */
  async listApiKeys(tenantId: string): Promise<ApiKey[]> {
    return (await this.json<Page<ApiKey>>('GET', `/v1/admin/tenants/${enc(tenantId)}/api-keys`)).items;
  }
  /** Another API key for the tenant; the secret is in the answer only. */
  issueApiKey(tenantId: string): Promise<{ apiKey: string }> {
    return this.json('POST', `/v1/admin/tenants/${enc(tenantId)}/api-keys`);
  }
  /** Revokes a key: the next request with it answers 401. */
  revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    return this.json('DELETE', `/v1/admin/tenants/${enc(tenantId)}/api-keys/${enc(keyId)}`);
  }
  /** A new key in place of `keyId`; the old one stops now, or after `graceSeconds` (at most 7 days). */
  rotateApiKey(
    tenantId: string,
    keyId: string,
    options: { graceSeconds?: number } = {},
  ): Promise<RotatedApiKey> {
    return this.json('POST', `/v1/admin/tenants/${enc(tenantId)}/api-keys/${enc(keyId)}/rotate`, {
      body: options,
    });
  }

  // --- the signed-in user's notifications, in the client's tenant ---
  notificationSettings(): Promise<NotificationSettings> {
    return this.json('GET', '/v1/me/notifications');
  }
  setNotificationOptIn(optIn: { email?: boolean; push?: boolean }): Promise<NotificationSettings> {
    return this.json('PATCH', '/v1/me/notifications', { body: { optIn } });
  }
  /** Mails a verification code to `address`; it receives job emails once the code is entered. */
  setNotificationEmail(address: string): Promise<NotificationSettings> {
    return this.json('PUT', '/v1/me/notifications/email', { body: { address } });
  }
  verifyNotificationEmail(code: string): Promise<NotificationSettings> {
    return this.json('POST', '/v1/me/notifications/email/verify', { body: { code } });
  }
  removeNotificationEmail(): Promise<void> {
    return this.json('DELETE', '/v1/me/notifications/email');
  }
  /** Stores a browser's push subscription (`PushSubscription.toJSON()`). */
  addPushSubscription(subscription: {
    endpoint?: string;
    keys?: Record<string, string>;
  }): Promise<NotificationSettings> {
    return this.json('POST', '/v1/me/notifications/push', { body: subscription });
  }
  removePushSubscription(id: string): Promise<void> {
    return this.json('DELETE', `/v1/me/notifications/push/${enc(id)}`);
  }

  // --- a job's story (timeline, log) and the operator job list ---
  /** This tenant's job's timeline: steps with times and durations. */
  jobTimeline(id: string): Promise<JobTimeline> {
    return this.json('GET', `/v1/jobs/${enc(id)}/timeline`);
  }
  async jobLogs(id: string): Promise<JobLogEntry[]> {
    return (await this.json<{ items: JobLogEntry[] }>('GET', `/v1/jobs/${enc(id)}/logs`)).items;
  }
  /** Jobs of every tenant (operators), newest first. */
  listAllJobs(filter: OperatorJobFilter = {}): Promise<Page<OperatorJob>> {
    return this.json('GET', '/v1/admin/jobs', { query: { ...filter } });
  }
  /** Any tenant's job with its timeline, log and the spans kept locally (operators). */
  jobStory(tenantId: string, id: string): Promise<JobStoryView> {
    return this.json('GET', `/v1/admin/tenants/${enc(tenantId)}/jobs/${enc(id)}`);
  }
  /** Retry a failed job, cancel a queued one or redrive a dead-lettered one (operators); 409 otherwise. */
  jobAction(tenantId: string, id: string, action: 'retry' | 'cancel' | 'redrive'): Promise<Job> {
    return this.json('POST', `/v1/admin/tenants/${enc(tenantId)}/jobs/${enc(id)}/${action}`);
  }
}

export function createClient(options: ClientOptions = {}): SilopoolClient {
  return new SilopoolClient(options);
}

export { ProblemError };

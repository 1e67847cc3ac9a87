import type { DiskSpace } from '../control/disk-space.ts';
import type { TenantMetrics } from '../control/metrics.ts';
import type { WebhookEndpointReport } from '../control/webhook-health.ts';
import type { TenantId } from '../core/ids.ts';
import type { Placement, Tenant } from '../core/tenant.ts';
import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { Operation } from '../ports/operation-store.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { TenantInfrastructure } from '../ports/tenant-infrastructure.ts';
import type { JobEvents } from '../runtime/job-events.ts';
import type { FunctionInfo } from '../runtime/process-runtime.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { EmbeddedIssuer } from './auth/issuer.ts';
import type { TokenLifetimes } from './auth/token-lifetime.ts';
import type { EventStreamSettings } from './event-streams.ts';
import type { BillingRouteDeps } from './routes/billing.ts';

/** Public auth settings the web app reads before login. */
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

/** Hooks the control plane adds (placement moves, usage); optional so the API runs without them. */
export interface ControlHooks {
  /**
   * Starts a placement move. Onboarding a dedicated tenant whose resources take minutes (a stack on AWS)
   * creates it shared and promotes it with this, so it can submit at once.
   */
  startMove?(tenantId: string, to: Placement): Promise<Operation>;
  /** After a tenant was created or changed: the local function host applies its limits at once. */
  tenantChanged?(tenantId: TenantId): Promise<void>;
  /** After a dedicated tenant's function settings change: the operation applying them, if one is needed. */
  applySettings?(tenantId: TenantId): Promise<Operation | undefined>;
  /** Gate per submit: quotas and rate limits. Throws RateLimitedError. Returns headers to add. */
  admitSubmit?(tenant: Tenant): Promise<Record<string, string>>;
  /** After an admitted submit finished, whether it succeeded or failed. */
  submitSettled?(tenant: Tenant): void;
}

export interface AppDeps {
  /** Metering, plans and statements (src/control/statements.ts): absent, the billing routes answer 404. */
  billing?: BillingRouteDeps;
  directory: TenantDirectory;
  queue: MessageQueue;
  stores: StoreProvider;
  authenticator: Authenticator;
  events: JobEvents;
  authConfig: AuthConfig;
  /** The embedded token issuer, when this server has one (mints tokens for operators). */
  issuer?: EmbeddedIssuer;
  /** Bounds of the tokens the embedded issuer mints (default `DEFAULT_TOKEN_LIFETIMES`). */
  tokenLifetimes?: TokenLifetimes;
  control?: ControlHooks;
  /** Per-tenant operational metrics for `/metrics` and the usage report. */
  metrics?: TenantMetrics;
  /** Dedicated function processes (cold starts, warm or scaled to zero), for `/metrics`. */
  functions?(): FunctionInfo[];
  /** Free space where this server keeps its data, for `/healthz` (degraded when low) and `/metrics`. */
  diskSpace?(): Promise<DiskSpace>;
  /** Folder of the built web app, served at `/`. */
  webRoot?: string;
  /** A dedicated tenant's own resources (default: queues and a store made by the control plane). */
  infrastructure?: TenantInfrastructure;
  /** Settings of queues the control plane creates for dedicated tenants. */
  queueSettings?: { visibilityTimeoutSec?: number; maxReceiveCount?: number };
  /** Largest accepted body, bytes. */
  bodyLimit?: number;
  logger?: boolean | Record<string, unknown>;
  /** Where tenants may point webhooks; default https to public addresses only (`STRICT_WEBHOOK_POLICY`). */
  webhookPolicy?: WebhookTargetPolicy;
  /** The state of a tenant's webhook endpoint, where this process runs the deliveries (the local server). */
  webhookHealth?(tenantId: TenantId): Promise<WebhookEndpointReport>;
  /** Forgets a tenant's endpoint failures when it sets a new URL. */
  resetWebhookEndpoint?(tenantId: TenantId): void;
  /** Proxies whose `X-Forwarded-For` names the client: a hop count or addresses; none by default. */
  trustProxy?: false | number | string[];
  /** Limits of `GET /v1/jobs/{id}/events` streams, and whether a shared poll backs the in-process events. */
  eventStreams?: EventStreamSettings;
}

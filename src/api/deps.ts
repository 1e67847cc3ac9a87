import type { DiskSpace } from '../control/disk-space.ts';
import type { TenantMetrics } from '../control/metrics.ts';
import type { WebhookEndpointReport } from '../control/webhook-health.ts';
import type { TenantId } from '../core/ids.ts';
import type { RegionPolicy } from '../core/region.ts';
import type { Tenant } from '../core/tenant.ts';
import type { TokenLifetimes } from '../core/token-lifetime.ts';
import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import type { Mailer } from '../functions/notification-channels.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { StoredSpan } from '../observability/span-store.ts';
import type { ControlHooks } from '../ports/control-hooks.ts';
import type { JobIntake } from '../ports/job-intake.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { MetricsHistoryStore } from '../ports/metrics-history.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { TenantInfrastructure } from '../ports/tenant-infrastructure.ts';
import type { EmbeddedIssuer } from '../ports/token-issuer.ts';
import type { JobEvents } from '../runtime/job-events.ts';
import type { FunctionInfo } from '../runtime/process-runtime.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { EventStreamSettings } from './event-streams.ts';
import type { BillingRouteDeps } from './routes/billing-common.ts';

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

export interface AppDeps {
  /** Releases: model versions loaded side by side, tenants' variants (absent: the built-in models). */
  releases?: ReleaseCatalog;
  /** Metering, plans and statements (src/control/statements.ts): absent, the billing routes answer 404. */
  billing?: BillingRouteDeps;
  directory: TenantDirectory;
  queue: MessageQueue;
  stores: StoreProvider;
  /** How submits become durable; default the sequence over `stores` and `queue` (`createSequencedJobIntake`). */
  intake?: JobIntake;
  authenticator: Authenticator;
  events: JobEvents;
  authConfig: AuthConfig;
  /** The embedded token issuer, when this server has one (mints tokens for operators). */
  issuer?: EmbeddedIssuer;
  /** Bounds of the tokens the embedded issuer mints (default `DEFAULT_TOKEN_LIFETIMES`). */
  tokenLifetimes?: TokenLifetimes;
  control?: ControlHooks;
  /** Where tenants may be placed (contract regions): checked when a tenant is onboarded with a region. */
  regions?: RegionPolicy;
  /** Per-tenant operational metrics for `/metrics` and the usage report. */
  metrics?: TenantMetrics;
  /** Metrics history kept by the platform (embedded); absent on AWS, where CloudWatch keeps it. */
  metricsHistory?: MetricsHistoryStore;
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
  webhookHealth?(tenant: Tenant): Promise<WebhookEndpointReport>;
  /** Forgets a tenant's endpoint failures when it sets a new URL. */
  resetWebhookEndpoint?(tenant: Tenant): void;
  /** Proxies whose `X-Forwarded-For` names the client: a hop count or addresses; none by default. */
  trustProxy?: false | number | string[];
  /** The spans kept locally of one tenant's job (the embedded span store); absent where none are kept. */
  jobSpans?(tenantId: TenantId, jobId: string): Promise<StoredSpan[]>;
  /** Limits of `GET /v1/jobs/{id}/events` streams, and whether a shared poll backs the in-process events. */
  eventStreams?: EventStreamSettings;
  /** User notification channels the platform offers (`/v1/me/notifications`); none when absent. */
  notifications?: NotificationOffer;
}

export interface NotificationOffer {
  /** The SMTP mailer: email is offered, and verification codes are sent with it. */
  mailer?: Mailer;
  /** The VAPID public key (base64url): Web Push is offered, and browsers subscribe with it. */
  vapidPublicKey?: string;
}

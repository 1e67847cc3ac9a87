import type { TenantMetrics } from '../control/metrics.ts';
import type { Tenant } from '../core/tenant.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { JobEvents } from '../runtime/job-events.ts';
import type { FunctionInfo } from '../runtime/process-runtime.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { EmbeddedIssuer } from './auth/issuer.ts';

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
  /** Called when a tenant is created with placement `dedicated`, before the API answers. */
  provisionTenant?(tenant: Tenant): Promise<void>;
  /** Gate per submit: quotas and rate limits. Throws RateLimitedError. Returns headers to add. */
  admitSubmit?(tenant: Tenant): Promise<Record<string, string>>;
}

export interface AppDeps {
  directory: TenantDirectory;
  queue: MessageQueue;
  stores: StoreProvider;
  authenticator: Authenticator;
  events: JobEvents;
  authConfig: AuthConfig;
  /** The embedded token issuer, when this server has one (mints tokens for operators). */
  issuer?: EmbeddedIssuer;
  control?: ControlHooks;
  /** Per-tenant operational metrics for `/metrics` and the usage report. */
  metrics?: TenantMetrics;
  /** Dedicated function processes (cold starts, warm or scaled to zero), for `/metrics`. */
  functions?(): FunctionInfo[];
  /** Folder of the built web app, served at `/`. */
  webRoot?: string;
  /** Settings of queues the control plane creates for dedicated tenants. */
  queueSettings?: { visibilityTimeoutSec?: number; maxReceiveCount?: number };
  /** Largest accepted body, bytes. */
  bodyLimit?: number;
  logger?: boolean | Record<string, unknown>;
  /** How often SSE streams re-read a job in case a change came from another process. */
  ssePollMs?: number;
}

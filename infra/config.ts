/**
 * Context every Silopool CDK app is built with. `validateAgainstDefaultRules` turns the built-in CloudFormation
 * validation's findings (a misspelled or misplaced property, a wrong type) into synthesis errors instead of
 * warnings (aws-cdk-lib FEATURE_FLAGS.md, since 2.262.0).
 */
export const APP_CONTEXT = { '@aws-cdk/core:validateAgainstDefaultRules': true } as const;

/** What the CDK app deploys, from the `silopool` context value (cdk.json or `-c silopool='{...}'`). */
export interface SilopoolInfraConfig {
  /** Model names: one shared lane per model, one dedicated lane per model per dedicated tenant. */
  models: string[];
  /** Cognito by default; any OIDC issuer (Auth0, Entra ID, Okta) by issuer URL and audience. */
  auth: { kind: 'cognito' } | { kind: 'oidc'; issuer: string; audience: string[]; jwksUrl?: string };
  /** Tenants with their own stacks. */
  dedicatedTenants: DedicatedTenantConfig[];
  /** Most concurrent executions one shared model function may use (SQS event source maximum concurrency). */
  sharedMaxConcurrency: number;
  code: CodeSource;
  /** Where the notification channels' settings are kept; without it no channel is offered. */
  notifications?: NotificationSettings;
}

/**
 * User notifications (docs/notifications.md): the channels' secrets in one Secrets Manager secret, a JSON
 * object `{ "smtpUrl", "vapidPublicKey", "vapidPrivateKey" }`, resolved into the functions' environment
 * by CloudFormation at deploy time (no SDK call at run time).
 */
export interface NotificationSettings {
  secretArn: string;
  /** Email is offered (the secret holds `smtpUrl`); default true. */
  email?: boolean;
  /** Web Push is offered (the secret holds the VAPID pair); default true. */
  push?: boolean;
  /** The `From:` of every message (`SILOPOOL_SMTP_FROM`). */
  from?: string;
  /** The VAPID contact (`SILOPOOL_VAPID_SUBJECT`), a `mailto:` or `https:` URL. */
  vapidSubject?: string;
  /** The portal's origin, for links in emails (`PUBLIC_URL`). */
  publicUrl?: string;
}

export interface DedicatedTenantConfig {
  id: string;
  /** Reserved concurrent executions per model function. */
  reservedConcurrency: number;
  memoryMb: number;
  timeoutSec: number;
}

/**
 * How function code gets into the template: `esbuild` bundles the entry points with the local esbuild
 * (offline, no Docker); `asset` takes prebuilt folders (`dist/lambda/{api,model,webhooks,control,notifications}` from
 * `scripts/bundle-lambdas.ts`, or a stub in tests that synthesize hundreds of stacks); `bucket` is a
 * model bundle already published (the tenant template: its bucket and key are stack parameters).
 */
export type CodeSource =
  | { kind: 'esbuild' }
  | {
      kind: 'asset';
      apiDir: string;
      modelDir: string;
      webhooksDir?: string;
      controlDir?: string;
      notificationsDir?: string;
    }
  | { kind: 'bucket'; bucket: string; key: string };

export const DEFAULT_DEDICATED: Omit<DedicatedTenantConfig, 'id'> = {
  reservedConcurrency: 2,
  memoryMb: 1024,
  timeoutSec: 300,
};

export function readConfig(context: unknown, models: string[]): SilopoolInfraConfig {
  const raw = (typeof context === 'string' ? JSON.parse(context) : (context ?? {})) as Partial<
    Omit<SilopoolInfraConfig, 'dedicatedTenants'> & {
      dedicatedTenants: (Partial<DedicatedTenantConfig> & { id: string })[];
    }
  >;
  return {
    models: raw.models ?? models,
    auth: raw.auth ?? { kind: 'cognito' },
    dedicatedTenants: (raw.dedicatedTenants ?? []).map((t) => ({ ...DEFAULT_DEDICATED, ...t })),
    sharedMaxConcurrency: raw.sharedMaxConcurrency ?? 50,
    code: raw.code ?? { kind: 'esbuild' },
    ...(raw.notifications ? { notifications: raw.notifications } : {}),
  };
}

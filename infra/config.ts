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
  /**
   * AWS Regions besides the platform's where dedicated tenants' stacks may be deployed (contract regions,
   * data residency): the control plane's and the deployer's grants name exactly these, and the control
   * plane refuses others (`SILOPOOL_CONTRACT_REGIONS`). Empty by default.
   */
  contractRegions?: string[];
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

/** A Region name, as `src/core/region.ts` accepts (no wildcard: grants must name each Region). */
const AWS_REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** The contract Regions from context, each an AWS Region name; throws naming the first that is not. */
function contractRegionsOf(raw: unknown): string[] {
  const list = raw === undefined ? [] : typeof raw === 'string' ? raw.split(',') : raw;
  if (!Array.isArray(list)) throw new Error('silopool.contractRegions must be a list of AWS Region names.');
  const regions = list.map((r) => String(r).trim()).filter((r) => r.length > 0);
  const bad = regions.find((r) => !AWS_REGION_NAME.test(r));
  if (bad !== undefined)
    throw new Error(`silopool.contractRegions: "${bad}" is not an AWS Region name like eu-west-1.`);
  return [...new Set(regions)];
}

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
    contractRegions: contractRegionsOf(raw.contractRegions),
  };
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoBillingItems } from '../adapters/aws/billing-items.ts';
import { awsClientConfig, SQS_LONG_POLLS } from '../adapters/aws/client-config.ts';
import { createSqsMessageQueue } from '../adapters/aws/message-queue.ts';
import { createDynamoOperationStore } from '../adapters/aws/operation-store.ts';
import { createRegionalMessageQueue, queueUrlPrefixIn } from '../adapters/aws/regional-queue.ts';
import { createDynamoReleasePointer } from '../adapters/aws/release-pointer.ts';
import { createAwsStoreProvider, type StoreProvisioning } from '../adapters/aws/stores.ts';
import { createDynamoTenantDirectory } from '../adapters/aws/tenant-directory.ts';
import { createTenantRegions, notingRegions, type TenantRegions } from '../adapters/aws/tenant-regions.ts';
import { assumeTenantScope, type TenantScopeCredentials } from '../adapters/aws/tenant-scope.ts';
import { TENANT_STACK_ENV } from '../adapters/aws/tenant-stack.ts';
import { createTenantViewReader, createTenantViews, type TenantViews } from '../adapters/aws/tenant-views.ts';
import { createDynamoUsageLedger } from '../adapters/aws/usage-ledger.ts';
import { ConfigError } from '../core/errors.ts';
import type { JobId } from '../core/ids.ts';
import { isHomeLane, type StoreRef, storeFor } from '../core/placement.ts';
import { regionPolicyFromEnv } from '../core/region.ts';
import { firstSettingOf, settingOf } from '../core/settings.ts';
import type { Tenant } from '../core/tenant.ts';
import { openReleaseCatalog } from '../models/release-catalog.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import { withCheckedIds } from '../ports/checked-directory.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { OperationStore } from '../ports/operation-store.ts';
import { jobDataFor } from '../ports/placement-data.ts';
import type { ReleasePointer } from '../ports/release-pointer.ts';
import { type StoreProvider, type TenantData, tenantDataAt } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';
import type { FunctionThreadDeps } from '../runtime/function-runtime.ts';
import { announcesToUsers } from './notification-flag.ts';

/** The ports on AWS, for the Lambda handlers and for the local server with `SILOPOOL_BACKEND=aws`. */
export interface AwsPorts {
  /** The whole directory (API key hashes, webhook secrets): the control plane and webhook delivery. */
  directory: TenantDirectory;
  /** Tenants as model functions read them: their views, without secrets (tenant-views.ts). */
  tenantViews: Pick<TenantDirectory, 'get'>;
  /** The views' writer, for the control function's repair sweep. */
  views: TenantViews;
  queue: MessageQueue;
  stores: StoreProvider;
  /** Usage records (`SILOPOOL_USAGE_TABLE`; docs/billing.md): absent, nothing is metered. */
  usage?: UsageLedger;
  /** Billing's items, in the usage table. */
  billing?: BillingItems;
  /**
   * A tenant's data for one message. With `SILOPOOL_TENANT_ROLE_ARN`, shared data is reached through
   * a session of that role narrowed to the tenant's partition key and prefix; otherwise through `stores`.
   */
  dataFor(tenant: Tenant, jobId: JobId, lane?: StoreRef): Promise<TenantData>;
  /** Placement moves in progress, in the control-plane table. */
  operations: OperationStore;
  /** Who makes dedicated tenants' tables and buckets (and, with `stack`, their whole stacks). */
  provisioning: StoreProvisioning;
  account: string;
  /** The platform's Region. */
  region: string;
  /** Each tenant's Region (its contract's, else the platform's), learned from the records read. */
  tenantRegions: TenantRegions;
  /** S3 in a Region (for the control plane's copies of model code into contract Regions). */
  s3In(region: string): S3Client;
  /** The document client and control-plane table, for the control plane's own items. */
  dynamo: DynamoDBDocumentClient;
  tenantsTable: string;
  sharedTable: string;
  /** The current release: one item in the views table (the release folder is in the read-only bundle). */
  releasePointer: ReleasePointer;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`Set ${name}: the AWS backend needs it (see docs/aws.md).`);
  return value;
}

/** Endpoint for a service: `AWS_ENDPOINT_URL_{SERVICE}`, then `AWS_ENDPOINT_URL` (emulators, LocalStack, VPC endpoints). */
function endpointFor(env: Env, service: 'SQS' | 'S3' | 'DYNAMODB' | 'STS'): { endpoint?: string } {
  const endpoint = firstSettingOf(env, `AWS_ENDPOINT_URL_${service}`, 'AWS_ENDPOINT_URL');
  return endpoint ? { endpoint } : {};
}

/**
 * `SILOPOOL_ACCOUNT`: the platform's AWS account, twelve digits (every S3 request on a bucket named by
 * pattern names it as the bucket's owner, and dedicated buckets' names carry it); unset or empty, the
 * emulators' 000000000000. An empty one was taken as set: no owner was named on the object stores' requests
 * (S3 would have served another account's bucket of the name) and bucket names lost their account.
 * @throws ConfigError naming SILOPOOL_ACCOUNT when it is not twelve digits
 */
export function accountOf(env: Env): string {
  const account = settingOf(env, 'SILOPOOL_ACCOUNT') ?? '000000000000';
  if (!/^\d{12}$/.test(account))
    throw new ConfigError(
      'SILOPOOL_ACCOUNT',
      `SILOPOOL_ACCOUNT must be an AWS account id (12 digits), not "${account}"`,
    );
  return account;
}

const PROVISIONING: StoreProvisioning[] = ['stack', 'verify', 'create'];

/**
 * `SILOPOOL_PROVISIONING`, else: `create` on emulators, `stack` where the platform published a tenant
 * template (the platform stack sets its URL), `verify` otherwise (stacks deployed with `cdk deploy`).
 */
function provisioningOf(env: Env, emulated: boolean): StoreProvisioning {
  const chosen = settingOf(env, 'SILOPOOL_PROVISIONING');
  if (chosen !== undefined) {
    if (!PROVISIONING.includes(chosen as StoreProvisioning))
      throw new Error(`SILOPOOL_PROVISIONING must be one of ${PROVISIONING.join(', ')}; got "${chosen}".`);
    return chosen as StoreProvisioning;
  }
  if (emulated) return 'create';
  return env[TENANT_STACK_ENV.templateUrl] ? 'stack' : 'verify';
}

interface RegionalClients {
  sqs: SQSClient;
  s3: S3Client;
  rawDynamo: DynamoDBClient;
  dynamo: DynamoDBDocumentClient;
}

// Scoped sessions are renewed this long before STS says they expire.
const RENEW_MS = 60_000;
const MAX_SCOPED_TENANTS = 200;

export function createAwsPorts(env: Env = process.env): AwsPorts {
  // A dedicated function runs in its tenant's contract Region (AWS_REGION); the platform's is named apart.
  const region = firstSettingOf(env, 'SILOPOOL_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION') ?? 'us-east-1';
  const table = required(env, 'SILOPOOL_TABLE');
  const bucket = required(env, 'SILOPOOL_BUCKET');
  const tenantsTable = required(env, 'SILOPOOL_TENANTS_TABLE');
  // On AWS both are tables of their own, so model roles need no grant on the directory's table.
  const viewsTable = settingOf(env, 'SILOPOOL_TENANT_VIEWS_TABLE') ?? tenantsTable;
  const emulated = firstSettingOf(env, 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL') !== undefined;
  const s3Endpoint = endpointFor(env, 'S3');

  const policy = regionPolicyFromEnv({ ...env, SILOPOOL_REGION: region }, 'aws');
  // A tenant's Region is learned from its records as they are read; a queue of a tenant not read yet by this
  // process (a function thread polling a dedicated lane) is placed by reading its view once.
  const regions = createTenantRegions(
    region,
    policy.dedicatedRegions === 'any' ? [] : policy.dedicatedRegions,
    (id) => viewReader.get(id),
  );
  // Clients per Region, made when a tenant of that Region is first served; the platform's first of all.
  const clients = new Map<string, RegionalClients>();
  const clientsIn = (at: string): RegionalClients => {
    let made = clients.get(at);
    if (!made) {
      // No client for a Region this platform does not reach, whatever record or caller named it.
      regions.check(at);
      const rawDynamo = new DynamoDBClient({
        region: at,
        ...endpointFor(env, 'DYNAMODB'),
        ...awsClientConfig(),
      });
      made = {
        sqs: new SQSClient({ region: at, ...endpointFor(env, 'SQS'), ...awsClientConfig(SQS_LONG_POLLS) }),
        s3: new S3Client({
          region: at,
          ...s3Endpoint,
          forcePathStyle: s3Endpoint.endpoint !== undefined,
          ...awsClientConfig(),
        }),
        rawDynamo,
        dynamo: DynamoDBDocumentClient.from(rawDynamo),
      };
      clients.set(at, made);
    }
    return made;
  };
  const { s3, dynamo } = clientsIn(region);
  const sts = new STSClient({ region, ...endpointFor(env, 'STS'), ...awsClientConfig() });

  const queues = new Map<string, MessageQueue>();
  const queue = createRegionalMessageQueue({
    regions,
    queueIn(at) {
      let made = queues.get(at);
      if (!made) {
        regions.check(at);
        const prefix = queueUrlPrefixIn(settingOf(env, 'SILOPOOL_QUEUE_URL_PREFIX'), region, at);
        made = createSqsMessageQueue({
          client: clientsIn(at).sqs,
          ...(prefix ? { queueUrlPrefix: prefix } : {}),
          // Dedup items live in the platform's table under their own partitions (`DEDUP#{queue}`), with a TTL.
          dedup: { client: dynamo, tableName: settingOf(env, 'SILOPOOL_DEDUP_TABLE') ?? tenantsTable },
        });
        queues.set(at, made);
      }
      return made;
    },
  });
  const directory = notingRegions(
    // A record whose id is no tenant id is no tenant: it never names a table, bucket, queue or stack.
    withCheckedIds(
      createDynamoTenantDirectory({ client: dynamo, tableName: tenantsTable, viewsTableName: viewsTable }),
      ({ key, id }) =>
        process.emitWarning(`Tenant record ${key ?? ''} names the id ${JSON.stringify(id)}: left out.`),
    ),
    regions,
  );
  const viewReader = createTenantViewReader({ client: dynamo, tableName: viewsTable });
  const storeOptions = {
    sharedTable: table,
    sharedBucket: bucket,
    account: accountOf(env),
    region,
    provisioning: provisioningOf(env, emulated),
  };
  const usage = env.SILOPOOL_USAGE_TABLE
    ? createDynamoUsageLedger({ client: dynamo, tableName: env.SILOPOOL_USAGE_TABLE })
    : undefined;
  const stores = createAwsStoreProvider({
    dynamo,
    s3,
    ...storeOptions,
    ...(usage ? { usage } : {}),
    regional: { regions, clientsIn },
  });

  const roleArn = settingOf(env, 'SILOPOOL_TENANT_ROLE_ARN');
  const scoped = new Map<string, { expires: number; data: Promise<TenantData>; close: () => void }>();

  async function scopedData(tenant: Tenant, arn: string): Promise<TenantData> {
    const hit = scoped.get(tenant.id);
    if (hit && hit.expires > Date.now() + RENEW_MS) return hit.data;
    hit?.close();
    scoped.delete(tenant.id);
    if (scoped.size >= MAX_SCOPED_TENANTS) {
      const [oldest] = scoped.keys();
      if (oldest !== undefined) {
        scoped.get(oldest)?.close();
        scoped.delete(oldest);
      }
    }
    const credentials: TenantScopeCredentials = await assumeTenantScope({
      sts,
      roleArn: arn,
      tenantId: tenant.id,
      table,
      bucket,
    });
    const scopedDynamo = new DynamoDBClient({
      region,
      ...endpointFor(env, 'DYNAMODB'),
      credentials,
      ...awsClientConfig(),
    });
    const scopedS3 = new S3Client({
      region,
      ...s3Endpoint,
      forcePathStyle: s3Endpoint.endpoint !== undefined,
      credentials,
      ...awsClientConfig(),
    });
    const provider = createAwsStoreProvider({
      dynamo: DynamoDBDocumentClient.from(scopedDynamo),
      s3: scopedS3,
      ...storeOptions,
    });
    const data = Promise.resolve(tenantDataAt(provider, { kind: 'shared' }, tenant.id));
    scoped.set(tenant.id, {
      expires: credentials.expiration.getTime(),
      data,
      close: () => {
        scopedDynamo.destroy();
        scopedS3.destroy();
      },
    });
    return data;
  }

  return {
    directory,
    tenantViews: {
      async get(id) {
        const tenant = await viewReader.get(id);
        // A view whose id is not the one asked for is no tenant (see withCheckedIds).
        if (tenant?.id !== id) return undefined;
        regions.note(tenant);
        return tenant;
      },
    },
    views: createTenantViews({ client: dynamo, tableName: viewsTable }),
    queue,
    stores,
    ...(usage && env.SILOPOOL_USAGE_TABLE
      ? { usage, billing: createDynamoBillingItems({ client: dynamo, tableName: env.SILOPOOL_USAGE_TABLE }) }
      : {}),
    provisioning: storeOptions.provisioning,
    account: storeOptions.account,
    region,
    tenantRegions: regions,
    s3In: (at) => clientsIn(at).s3,
    dynamo,
    tenantsTable,
    sharedTable: table,
    operations: createDynamoOperationStore({ client: dynamo, tableName: tenantsTable }),
    releasePointer: createDynamoReleasePointer({ client: dynamo, tableName: viewsTable }),
    async dataFor(tenant, jobId, lane) {
      regions.note(tenant);
      if (lane) {
        // The message's lane holds its record: a dedicated function (whose role reaches only the tenant's
        // own table and bucket) never looks in the shared store, not even during a demotion.
        const data =
          lane.kind === 'shared' && roleArn
            ? await scopedData(tenant, roleArn)
            : tenantDataAt(stores, lane, tenant.id);
        if (isHomeLane(tenant, lane) || (await data.jobs.get(jobId))) return data;
      }
      const ref = storeFor(tenant);
      // Dedicated stores are the tenant's own table and bucket, reached with its own function's role.
      // During a move a job's record is in the source or the target: the one holding it is used.
      if (!roleArn || ref.kind === 'dedicated' || tenant.move) return jobDataFor(stores, tenant, jobId);
      return scopedData(tenant, roleArn);
    },
    async close() {
      for (const entry of scoped.values()) entry.close();
      scoped.clear();
      await stores.close();
      for (const made of clients.values()) {
        made.sqs.destroy();
        made.s3.destroy();
        made.rawDynamo.destroy();
      }
      clients.clear();
      sts.destroy();
    },
  };
}

/**
 * The local function host's factory (`HandlerFactorySpec.module`): a function thread or process builds
 * its handler's ports from `options.env` (or its own environment) on AWS, as on Lambda.
 */
export async function createHandlerDeps(options: Record<string, unknown>): Promise<FunctionThreadDeps> {
  const env = (options.env as Env | undefined) ?? process.env;
  const ports = createAwsPorts(env);
  return {
    directory: ports.tenantViews,
    queue: ports.queue,
    notifications: announcesToUsers(env),
    dataFor: ports.dataFor,
    // Releases ship inside the function bundle; without the folder only the built-in models run.
    ...(env.SILOPOOL_RELEASES_DIR
      ? { releases: openReleaseCatalog(env.SILOPOOL_RELEASES_DIR, ports.releasePointer) }
      : {}),
    ...(typeof options.maxReceiveCount === 'number' ? { maxReceiveCount: options.maxReceiveCount } : {}),
  };
}

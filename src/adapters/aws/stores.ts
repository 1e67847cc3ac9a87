import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { StoreNotFoundError, UnavailableError } from '../../core/errors.ts';
import type { StoreRef } from '../../core/placement.ts';
import type { JobStore } from '../../ports/job-store.ts';
import type { ObjectStore } from '../../ports/object-store.ts';
import type { StoreProvider } from '../../ports/stores.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import { createDynamoJobStore, QUEUED_INDEX } from './job-store.ts';
import { dedicatedBucketName, dedicatedTableName } from './naming.ts';
import { createS3ObjectStore } from './object-store.ts';
import { OPERATION_INDEXES } from './operation-store.ts';
import type { TenantRegions } from './tenant-regions.ts';

export interface AwsStoreProviderOptions {
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  sharedTable: string;
  sharedBucket: string;
  account: string;
  region: string;
  /**
   * Who makes a dedicated tenant's table and bucket:
   * - `stack` (on AWS, the default): its TenantStack, which the control plane deploys and deletes
   *   (src/adapters/aws/stack-infrastructure.ts). Provision checks they exist; destroy empties the bucket,
   *   every version, because CloudFormation cannot delete a bucket that holds objects.
   * - `verify`: its TenantStack, deployed by an operator (`cdk deploy`); provision checks, destroy leaves
   *   both to the operator.
   * - `create` (emulators, development): provision creates them, destroy deletes them.
   */
  provisioning: StoreProvisioning;
  /** The usage ledger every job store records finished jobs in (docs/billing.md). */
  usage?: UsageLedger;
  /**
   * Dedicated tenants whose contract names another Region: their table and bucket are there, named with
   * it, and reached with that Region's clients. Absent, every store is in `region`.
   */
  regional?: {
    regions: TenantRegions;
    clientsIn(region: string): { dynamo: DynamoDBDocumentClient; s3: S3Client };
  };
}

/**
 * A table that holds jobs, as CloudFormation creates it from `infra/` (keep the two in step): `pk`/`sk`,
 * on demand, and the sparse `queued` index. For emulators and development (`create` provisioning).
 */
export function jobTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: QUEUED_INDEX.partitionKey, AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: QUEUED_INDEX.name,
        KeySchema: [
          { AttributeName: QUEUED_INDEX.partitionKey, KeyType: 'HASH' },
          { AttributeName: QUEUED_INDEX.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  };
}

/**
 * Emulators create every platform table alike: a job table that also has the control-plane table's
 * operation indexes (src/adapters/aws/operation-store.ts; infra/naming.ts gives them to the tenants table).
 */
export function emulatorTableInput(tableName: string): CreateTableCommandInput {
  const input = jobTableInput(tableName);
  const indexes = Object.values(OPERATION_INDEXES);
  return {
    ...input,
    AttributeDefinitions: [
      ...(input.AttributeDefinitions ?? []),
      ...[...new Set(indexes.flatMap((i) => [i.partitionKey, i.sortKey]))].map((AttributeName) => ({
        AttributeName,
        AttributeType: 'S' as const,
      })),
    ],
    GlobalSecondaryIndexes: [
      ...(input.GlobalSecondaryIndexes ?? []),
      ...indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      })),
    ],
  };
}

export type StoreProvisioning = 'stack' | 'verify' | 'create';

/** The shared table and bucket, and each dedicated tenant's own, found by name (see `naming.ts`). */
export function createAwsStoreProvider(options: AwsStoreProviderOptions): StoreProvider {
  const jobStores = new Map<string, JobStore>();
  const objectStores = new Map<string, ObjectStore>();
  const regionOf = (ref: StoreRef) =>
    ref.kind === 'dedicated' && options.regional ? options.regional.regions.of(ref.tenantId) : options.region;
  const clientsOf = (ref: StoreRef) => {
    const region = regionOf(ref);
    return region === options.region || !options.regional
      ? { dynamo: options.dynamo, s3: options.s3 }
      : options.regional.clientsIn(region);
  };
  const tableOf = (ref: StoreRef) =>
    ref.kind === 'shared' ? options.sharedTable : dedicatedTableName(ref.tenantId);
  const bucketOf = (ref: StoreRef) =>
    ref.kind === 'shared'
      ? options.sharedBucket
      : dedicatedBucketName(ref.tenantId, options.account, regionOf(ref));
  // Table names are the same in every Region: the cache is keyed by Region too.
  const tableKey = (ref: StoreRef) => `${regionOf(ref)}/${tableOf(ref)}`;

  async function tableExists(dynamo: DynamoDBDocumentClient, name: string): Promise<boolean> {
    try {
      const out = await dynamo.send(new DescribeTableCommand({ TableName: name }));
      return out.Table?.TableStatus === 'ACTIVE';
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') return false;
      throw error;
    }
  }

  // Every request on a bucket names this account as its owner: a dedicated bucket's name is a pattern, and
  // a bucket of that name another account made first (or after an offboarding freed it) is refused by S3
  // instead of being taken, written to, emptied or deleted as the tenant's.
  const owner = { ExpectedBucketOwner: options.account };

  async function bucketExists(s3: S3Client, name: string): Promise<boolean> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: name, ...owner }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'NotFound' || (error as Error).name === 'NoSuchBucket') return false;
      throw error;
    }
  }

  return {
    jobs(ref) {
      const key = tableKey(ref);
      const store =
        jobStores.get(key) ??
        goneAsStoreNotFound(
          createDynamoJobStore({
            client: clientsOf(ref).dynamo,
            tableName: tableOf(ref),
            ...(options.usage ? { usage: options.usage } : {}),
          }),
          ref,
        );
      jobStores.set(key, store);
      return store;
    },
    objects(ref) {
      const bucket = bucketOf(ref);
      const store =
        objectStores.get(bucket) ??
        goneAsStoreNotFound(
          createS3ObjectStore({ client: clientsOf(ref).s3, bucket, expectedOwner: options.account }),
          ref,
        );
      objectStores.set(bucket, store);
      return store;
    },
    async provision(ref) {
      if (ref.kind === 'shared') return;
      const table = tableOf(ref);
      const bucket = bucketOf(ref);
      const region = regionOf(ref);
      const { dynamo, s3 } = clientsOf(ref);
      if (options.provisioning !== 'create') {
        if (!(await tableExists(dynamo, table)) || !(await bucketExists(s3, bucket))) {
          throw new UnavailableError(
            `Tenant ${ref.tenantId}'s table ${table} or bucket ${bucket} does not exist yet in ${region}: deploy its TenantStack first.`,
          );
        }
        return;
      }
      if (!(await tableExists(dynamo, table))) {
        await dynamo.send(new CreateTableCommand(jobTableInput(table)));
        for (let i = 0; i < 100 && !(await tableExists(dynamo, table)); i++)
          await new Promise((r) => setTimeout(r, 50));
      }
      if (!(await bucketExists(s3, bucket))) {
        // us-east-1 takes no location constraint; every other Region needs its own.
        const location =
          region === 'us-east-1'
            ? {}
            : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
        await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
      }
    },
    async destroy(ref) {
      if (ref.kind === 'shared') return;
      const table = tableOf(ref);
      const bucket = bucketOf(ref);
      const { dynamo, s3 } = clientsOf(ref);
      // On AWS the TenantStack owns the table and bucket; deleting the stack removes them.
      if (options.provisioning === 'verify') return;
      if (options.provisioning === 'stack') {
        if (await bucketExists(s3, bucket)) await emptyBucket(s3, bucket, options.account);
        return;
      }
      if (await tableExists(dynamo, table)) await dynamo.send(new DeleteTableCommand({ TableName: table }));
      if (await bucketExists(s3, bucket)) {
        const objects = this.objects(ref);
        for (let page = await objects.list(''); page.items.length > 0; page = await objects.list('')) {
          for (const item of page.items) await objects.delete(item.key);
        }
        await s3.send(new DeleteBucketCommand({ Bucket: bucket, ...owner }));
      }
      jobStores.delete(tableKey(ref));
      objectStores.delete(bucket);
    },
    async close() {
      jobStores.clear();
      objectStores.clear();
    },
  };
}

/**
 * A dedicated tenant's table or bucket that no longer exists (the tenant was demoted or offboarded while
 * a caller held its store) answers `StoreNotFoundError` (503: a request sent again is routed to the
 * tenant's placement now), as the embedded store does, not the SDK's `ResourceNotFoundException` or
 * `NoSuchBucket` (which an API caller would see as a 500). Every method of `store`, and of the stores its
 * methods return (`forTenant`), is covered; the shared store is returned as it is.
 */
function goneAsStoreNotFound<T extends object>(store: T, ref: StoreRef): T {
  if (ref.kind !== 'dedicated') return store;
  const gone = (error: unknown) =>
    ['ResourceNotFoundException', 'NoSuchBucket'].includes((error as Error | undefined)?.name ?? '')
      ? new StoreNotFoundError(ref.tenantId, { cause: error })
      : error;
  const wrap = <U extends object>(target: U): U =>
    new Proxy(target, {
      get(object, name, receiver) {
        const value = Reflect.get(object, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(object, args);
          if (result instanceof Promise)
            return result.catch((error: unknown) => {
              throw gone(error);
            });
          return result !== null && typeof result === 'object' ? wrap(result) : result;
        };
      },
    });
  return wrap(store);
}

/**
 * Deletes every object of a bucket, every version and delete marker included (a versioned bucket is not
 * empty until they are gone), then whatever a plain listing still shows (stores without versioning).
 */
export async function emptyBucket(s3: S3Client, bucket: string, expectedOwner: string): Promise<number> {
  // Emptying a bucket of another account (one of our names taken there) is refused by S3, not done.
  const at = { Bucket: bucket, ExpectedBucketOwner: expectedOwner };
  let deleted = 0;
  const remove = async (objects: ObjectIdentifier[]) => {
    if (objects.length === 0) return;
    const out = await s3.send(new DeleteObjectsCommand({ ...at, Delete: { Objects: objects, Quiet: true } }));
    if (out.Errors?.length) {
      const first = out.Errors[0];
      throw new Error(`Could not empty ${bucket}: ${first?.Key} ${first?.Code} ${first?.Message}`);
    }
    deleted += objects.length;
  };
  for (;;) {
    let versions: ObjectIdentifier[] = [];
    try {
      const out = await s3.send(new ListObjectVersionsCommand({ ...at, MaxKeys: 1000 }));
      versions = [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].flatMap((v) =>
        v.Key ? [{ Key: v.Key, ...(v.VersionId ? { VersionId: v.VersionId } : {}) }] : [],
      );
    } catch (error) {
      // Stores without the versions API (emulators) fall through to the plain listing.
      if (!['NotImplemented', 'MethodNotAllowed'].includes((error as Error).name)) throw error;
    }
    const listed = await s3.send(new ListObjectsV2Command({ ...at, MaxKeys: 1000 }));
    const current = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (versions.length === 0 && current.length === 0) return deleted;
    await remove(versions);
    await remove(versions.length > 0 ? [] : current);
  }
}

import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantId } from '../../core/ids.ts';
import type { Tenant } from '../../core/tenant.ts';
import type { TenantDirectory } from '../../ports/tenant-directory.ts';

/**
 * The model functions' copy of a tenant: its record without what only the control plane may read.
 *
 * The tenant directory's items (`silopool-tenants`) hold every tenant's API key hashes and webhook secret,
 * in one partition so they list in order. A function role granted that table could read all of them, and
 * DynamoDB cannot narrow a grant to one item of a shared partition. So the directory also writes, after
 * each change, a **view** per tenant into its own table (`silopool-views`), keyed `TENANT#{id}`:
 * model roles are granted only that table (no grant at all on the directory's), a dedicated tenant's role
 * only its own partition (`dynamodb:LeadingKeys`).
 */
export const VIEW_SK = 'VIEW';

/** The view's partition key: the value a dedicated role's `dynamodb:LeadingKeys` condition names. */
export function tenantViewKey(tenantId: TenantId): string {
  return `TENANT#${tenantId}`;
}

/**
 * A tenant as model functions see it: no API keys (their hashes), and a webhook with its URL but an
 * empty secret — functions only need to know one is set; the webhook function reads the secret itself.
 */
export function publicTenant(tenant: Tenant): Tenant {
  const { webhook, ...config } = tenant.config;
  return {
    ...tenant,
    apiKeys: [],
    config: { ...config, ...(webhook ? { webhook: { url: webhook.url, secret: '' } } : {}) },
  };
}

export interface TenantViewsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/** Writes and reads tenant views; `write` never moves a view back to an older version. */
export function createTenantViews({ client, tableName }: TenantViewsOptions) {
  const key = (id: TenantId) => ({ pk: tenantViewKey(id), sk: VIEW_SK });
  return {
    async write(tenant: Tenant): Promise<void> {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...key(tenant.id), version: tenant.version, doc: JSON.stringify(publicTenant(tenant)) },
            // Two writers of successive versions may finish out of order: the newer view stays.
            ConditionExpression: 'attribute_not_exists(pk) OR version < :v',
            ExpressionAttributeValues: { ':v': tenant.version },
          }),
        );
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    },
    async remove(id: TenantId): Promise<void> {
      await client.send(new DeleteCommand({ TableName: tableName, Key: key(id) }));
    },
    async version(id: TenantId): Promise<number | undefined> {
      const out = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: key(id),
          ConsistentRead: true,
          ProjectionExpression: 'version',
        }),
      );
      return out.Item ? (out.Item.version as number) : undefined;
    },
  };
}

export type TenantViews = ReturnType<typeof createTenantViews>;

/**
 * The directory model functions read (`get` only): one GetItem of the tenant's view. It never sees a
 * key hash or webhook secret, and needs no grant on the directory's own table.
 */
export function createTenantViewReader({
  client,
  tableName,
}: TenantViewsOptions): Pick<TenantDirectory, 'get'> {
  return {
    async get(id: TenantId): Promise<Tenant | undefined> {
      const out = await client.send(
        new GetCommand({
          TableName: tableName,
          Key: { pk: tenantViewKey(id), sk: VIEW_SK },
          ConsistentRead: true,
        }),
      );
      return out.Item ? (JSON.parse(out.Item.doc as string) as Tenant) : undefined;
    },
  };
}

/**
 * Rewrites every view older than its tenant's record; answers how many it rewrote. The directory writes a
 * view right after each record: a process stopped between the two leaves the view one change behind until
 * the tenant's next change or this sweep (the control function runs it with the placement advisor).
 */
export async function repairTenantViews(directory: TenantDirectory, views: TenantViews): Promise<number> {
  let repaired = 0;
  let cursor: string | undefined;
  do {
    const page = await directory.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    for (const tenant of page.items) {
      const version = await views.version(tenant.id);
      if (version !== undefined && version >= tenant.version) continue;
      await views.write(tenant);
      repaired++;
    }
    cursor = page.nextCursor;
  } while (cursor);
  return repaired;
}

import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError, ConflictError } from '../../core/errors.ts';
import type { TenantId } from '../../core/ids.ts';
import type { Tenant } from '../../core/tenant.ts';
import {
  TENANT_LIST,
  type TenantDirectory,
  type TenantPage,
  withKeyUse,
} from '../../ports/tenant-directory.ts';
import { putIfAbsent, putIfVersion } from './conditional-put.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { createTenantViews } from './tenant-views.ts';

export interface DynamoTenantDirectoryOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * Where each tenant's view for the model functions goes (tenant-views.ts): a table of its own on AWS,
   * which the model roles may read while they have no grant on `tableName`. Defaults to `tableName`.
   */
  viewsTableName?: string;
}

// All tenants share one partition so they list in id order with a cursor. Directory writes are rare and
// reads are cached by the API, far below one partition's 1,000 WCU / 3,000 RCU.
const PK = 'TENANTS';
const SK = 'TENANT#';

/**
 * TenantDirectory on a DynamoDB control-plane table (pk `TENANTS`, sk `TENANT#{id}`), record as JSON in
 * `doc`; each change also rewrites the tenant's view without secrets (tenant-views.ts).
 */
export function createDynamoTenantDirectory({
  client,
  tableName,
  viewsTableName,
}: DynamoTenantDirectoryOptions): TenantDirectory {
  const views = createTenantViews({ client, tableName: viewsTableName ?? tableName });
  const key = (id: TenantId) => ({ pk: PK, sk: SK + id });
  const itemOf = (tenant: Tenant) => ({
    ...key(tenant.id),
    version: tenant.version,
    doc: JSON.stringify(tenant),
  });
  const tenantOf = (item: Record<string, unknown>): Tenant => JSON.parse(item.doc as string) as Tenant;

  return {
    async create(tenant: Tenant): Promise<void> {
      if (!(await putIfAbsent(client, tableName, itemOf(tenant)))) {
        throw new ConflictError(`Tenant ${tenant.id} already exists.`, 'tenant_exists');
      }
      await views.write(tenant);
    },

    async get(id: TenantId): Promise<Tenant | undefined> {
      const out = await client.send(
        new GetCommand({ TableName: tableName, Key: key(id), ConsistentRead: true }),
      );
      return out.Item ? tenantOf(out.Item) : undefined;
    },

    async update(next: Tenant, expectedVersion: number): Promise<Tenant> {
      const stored: Tenant = { ...next, version: expectedVersion + 1 };
      if (!(await putIfVersion(client, tableName, itemOf(stored), expectedVersion))) {
        throw new ConditionFailedError(
          `Tenant ${next.id} changed since version ${expectedVersion} was read.`,
        );
      }
      await views.write(stored);
      return stored;
    },

    async touchApiKey(tenant: Tenant, keyId: string, at: string): Promise<void> {
      const touched = withKeyUse(tenant, keyId, at);
      // A lost condition means the record changed since it was read: the touch is dropped on purpose.
      if (touched) await putIfVersion(client, tableName, itemOf(touched), tenant.version);
    },

    async list(options?: { cursor?: string; limit?: number }): Promise<TenantPage> {
      const limit = Math.max(1, options?.limit ?? 100);
      const out = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
          ExpressionAttributeValues: { ':pk': PK, ':sk': SK },
          ConsistentRead: true,
          Limit: limit + 1,
          ...(options?.cursor
            ? { ExclusiveStartKey: decodeCursor(options.cursor, TENANT_LIST, PK, SK) }
            : {}),
        }),
      );
      const items = out.Items ?? [];
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map(tenantOf),
        ...(items.length > limit && last ? { nextCursor: encodeCursor(TENANT_LIST, last) } : {}),
      };
    },

    async delete(id: TenantId): Promise<void> {
      // The view first: a stop in between leaves a record without a view (functions refuse its jobs),
      // never a view of a deleted tenant.
      await views.remove(id);
      await client.send(new DeleteCommand({ TableName: tableName, Key: key(id) }));
    },
  };
}

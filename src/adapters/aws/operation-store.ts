import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError } from '../../core/errors.ts';
import type { TenantId } from '../../core/ids.ts';
import type { Operation, OperationStore } from '../../ports/operation-store.ts';
import { putIfAbsent, putIfVersion } from './conditional-put.ts';

/**
 * Operations live in the control-plane table, one partition each (`OP#{id}`), never all in one: the control
 * function looks for running ones every 10 s, and a single partition read whole would grow with every move
 * ever made. Two sparse global secondary indexes find them instead (infra/naming.ts creates them):
 * - `operations-running`: only operations still running carry `opRunning`, so the poll reads just those;
 * - `operations-by-tenant`: `opTenant` = `OPS#{tenantId}`, sorted by creation time.
 * A finished operation expires (`expiresAt`, the table's TTL attribute) after OPERATION_RETENTION_DAYS.
 * Index reads are eventually consistent; `get` by id reads the item itself, consistently.
 */
export const OPERATION_INDEXES = {
  running: { name: 'operations-running', partitionKey: 'opRunning', sortKey: 'opCreated' },
  byTenant: { name: 'operations-by-tenant', partitionKey: 'opTenant', sortKey: 'opCreated' },
} as const;

/** Long enough for the placement advisor's cooldown, offboarding's export link (30 days) and audits. */
export const OPERATION_RETENTION_DAYS = 90;

const RUNNING = 'RUNNING';

/** OperationStore on the DynamoDB control-plane table (pk `OP#{id}`, sk `OP`), CAS on `version`. */
export function createDynamoOperationStore({
  client,
  tableName,
}: {
  client: DynamoDBDocumentClient;
  tableName: string;
}): OperationStore {
  const key = (id: string) => ({ pk: `OP#${id}`, sk: 'OP' });
  const itemOf = (op: Operation) => ({
    ...key(op.id),
    version: op.version,
    doc: JSON.stringify(op),
    opCreated: `${op.createdAt}#${op.id}`,
    ...(op.tenantId ? { opTenant: `OPS#${op.tenantId}` } : {}),
    ...(op.status === 'running'
      ? { opRunning: RUNNING }
      : { expiresAt: Math.floor(Date.parse(op.updatedAt) / 1000) + OPERATION_RETENTION_DAYS * 86_400 }),
  });
  const query = async (input: Omit<QueryCommandInput, 'TableName'>): Promise<Operation[]> => {
    const out: Operation[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({ TableName: tableName, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const item of page.Items ?? []) out.push(JSON.parse(item.doc as string) as Operation);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  };
  const byTenant = (tenantId: TenantId) =>
    query({
      IndexName: OPERATION_INDEXES.byTenant.name,
      KeyConditionExpression: '#p = :p',
      ExpressionAttributeNames: { '#p': OPERATION_INDEXES.byTenant.partitionKey },
      ExpressionAttributeValues: { ':p': `OPS#${tenantId}` },
    });
  return {
    async create(op) {
      if (!(await putIfAbsent(client, tableName, itemOf(op)))) {
        throw new ConditionFailedError(`Operation ${op.id} already exists.`);
      }
    },
    async get(id) {
      const out = await client.send(
        new GetCommand({ TableName: tableName, Key: key(id), ConsistentRead: true }),
      );
      return out.Item ? (JSON.parse(out.Item.doc as string) as Operation) : undefined;
    },
    async update(next, expectedVersion) {
      const stored: Operation = {
        ...next,
        version: expectedVersion + 1,
        updatedAt: new Date().toISOString(),
      };
      if (!(await putIfVersion(client, tableName, itemOf(stored), expectedVersion))) {
        throw new ConditionFailedError(`Operation ${next.id} changed since version ${expectedVersion}.`);
      }
      return stored;
    },
    async listRunning() {
      const found = await query({
        IndexName: OPERATION_INDEXES.running.name,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': OPERATION_INDEXES.running.partitionKey },
        ExpressionAttributeValues: { ':p': RUNNING },
      });
      // The index can lag a finish by a moment: the item's own status decides.
      return found.filter((op) => op.status === 'running');
    },
    listByTenant: byTenant,
    async deleteByTenant(tenantId, except) {
      const kept = new Set(typeof except === 'string' ? [except] : (except ?? []));
      for (const op of await byTenant(tenantId)) {
        if (!kept.has(op.id)) await client.send(new DeleteCommand({ TableName: tableName, Key: key(op.id) }));
      }
    },
  };
}

import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError } from '../../core/errors.ts';
import type { Operation, OperationStore } from '../../ports/operation-store.ts';
import { putIfAbsent, putIfVersion } from './conditional-put.ts';

// Operations (placement moves) are few and short-lived: one partition in the control-plane table, beside
// the tenants, read whole when the control plane resumes running ones.
const PK = 'OPERATIONS';
const SK = 'OP#';

/** OperationStore on the DynamoDB control-plane table (pk `OPERATIONS`, sk `OP#{id}`), CAS on `version`. */
export function createDynamoOperationStore({
  client,
  tableName,
}: {
  client: DynamoDBDocumentClient;
  tableName: string;
}): OperationStore {
  const key = (id: string) => ({ pk: PK, sk: SK + id });
  const itemOf = (op: Operation) => ({ ...key(op.id), version: op.version, doc: JSON.stringify(op) });
  const all = async (): Promise<Operation[]> => {
    const out: Operation[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': PK },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) out.push(JSON.parse(item.doc as string) as Operation);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  };
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
    listRunning: async () => (await all()).filter((op) => op.status === 'running'),
    listByTenant: async (tenantId) => (await all()).filter((op) => op.tenantId === tenantId),
    async deleteByTenant(tenantId, except) {
      for (const op of await all()) {
        if (op.tenantId === tenantId && op.id !== except)
          await client.send(new DeleteCommand({ TableName: tableName, Key: key(op.id) }));
      }
    },
  };
}

import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { parseTenantId, type TenantId } from '../../core/ids.ts';
import type { DayRange, UsageRecord } from '../../core/usage.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import { putIfAbsent } from './conditional-put.ts';
import { tenantPartitionKey } from './job-store.ts';

export interface DynamoUsageLedgerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * The usage table: pk `T#{tenantId}`, sk `U#{day}#{id}` (a tenant's month is one key range), and the
 * `byDay` index (partition `day`) for every tenant's records of a day. A record is one per id, whatever
 * day a repeat of it names: its id is claimed first (sk `I#{id}`, holding the record, without `day` so the
 * index leaves it out), then the claimed record is written at its day; both conditional on
 * `attribute_not_exists(pk)`, so the first write wins and repeats are no-ops.
 */
export const USAGE_DAY_INDEX = 'byDay';

export function usageTableInput(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'day', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: USAGE_DAY_INDEX,
        KeySchema: [
          { AttributeName: 'day', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

/** Creates the usage table if it is missing (emulators and `SILOPOOL_PROVISIONING=create`). */
export async function ensureUsageTable(client: DynamoDBDocumentClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(usageTableInput(tableName)));
  for (let i = 0; i < 100; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sortKey = (r: Pick<UsageRecord, 'day' | 'id'>) => `U#${r.day}#${r.id}`;
const claimKey = (id: string) => `I#${id}`;

const fromItem = (item: Record<string, unknown>): UsageRecord => ({
  id: item.id as string,
  tenantId: item.tenantId as TenantId,
  meter: item.meter as UsageRecord['meter'],
  model: item.model as string,
  quantity: item.quantity as number,
  at: item.at as string,
  day: item.day as string,
});

async function queryAll(client: DynamoDBDocumentClient, input: QueryCommandInput) {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await client.send(
      new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
    );
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

function daysOf(range: DayRange): string[] {
  const days: string[] = [];
  for (
    let t = Date.parse(`${range.from}T00:00:00Z`);
    t <= Date.parse(`${range.to}T00:00:00Z`);
    t += 86_400_000
  )
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

export function createDynamoUsageLedger({ client, tableName }: DynamoUsageLedgerOptions): UsageLedger {
  return {
    async record(records) {
      let added = 0;
      for (const r of records) {
        const pk = tenantPartitionKey(r.tenantId);
        // Keyed by day and id alone, a job finished on both sides of a UTC midnight (a run cut off after its
        // write-ahead usage, and the redelivery that finished it) was billed twice. The claim names the
        // record kept; a write cut off between the two puts is completed by the next repeat.
        let kept: UsageRecord = r;
        if (!(await putIfAbsent(client, tableName, { pk, sk: claimKey(r.id), record: r }))) {
          const out = await client.send(
            new GetCommand({ TableName: tableName, Key: { pk, sk: claimKey(r.id) }, ConsistentRead: true }),
          );
          kept = out.Item?.record ? fromItem(out.Item.record as Record<string, unknown>) : r;
        }
        if (await putIfAbsent(client, tableName, { pk, sk: sortKey(kept), ...kept })) added++;
      }
      return added;
    },
    forTenant(tenantId) {
      parseTenantId(tenantId, '/tenantId');
      return {
        tenantId,
        async list(range) {
          const items = await queryAll(client, {
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
            ExpressionAttributeValues: {
              ':pk': tenantPartitionKey(tenantId),
              ':lo': `U#${range.from}`,
              // `$` sorts after `#`: the bound takes in every id of the last day.
              ':hi': `U#${range.to}$`,
            },
            ConsistentRead: true,
          });
          return items.map(fromItem);
        },
      };
    },
    async list(range) {
      const out: UsageRecord[] = [];
      for (const day of daysOf(range)) {
        const items = await queryAll(client, {
          TableName: tableName,
          IndexName: USAGE_DAY_INDEX,
          KeyConditionExpression: '#day = :day',
          ExpressionAttributeNames: { '#day': 'day' },
          ExpressionAttributeValues: { ':day': day },
        });
        out.push(...items.map(fromItem).sort((a, b) => (a.id < b.id ? -1 : 1)));
      }
      return out;
    },
  };
}

import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { BillingItems } from '../../ports/billing-items.ts';
import { putIfAbsent } from './conditional-put.ts';
import { isConditionFailed } from './cursor.ts';

/**
 * BillingItems on a DynamoDB table keyed `pk`/`sk` (the usage table: billing partitions start `B#`, usage
 * ones `T#`, and billing items have no `day`, so the usage index never holds them).
 */
export function createDynamoBillingItems(options: {
  client: DynamoDBDocumentClient;
  tableName: string;
}): BillingItems {
  const { client, tableName } = options;
  return {
    async put(pk, sk, doc, opts) {
      const item = { pk, sk, doc: JSON.stringify(doc) };
      if (opts?.ifAbsent) return putIfAbsent(client, tableName, item);
      await client.send(new PutCommand({ TableName: tableName, Item: item }));
      return true;
    },
    async get<T>(pk: string, sk: string) {
      const out = await client.send(
        new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }),
      );
      return out.Item ? (JSON.parse(out.Item.doc as string) as T) : undefined;
    },
    async query<T>(pk: string, skPrefix: string) {
      const items: T[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :p)',
            ExpressionAttributeValues: { ':pk': pk, ':p': skPrefix },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of out.Items ?? []) items.push(JSON.parse(item.doc as string) as T);
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return items;
    },
    async deleteIf(pk, sk, doc) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk, sk },
            ConditionExpression: '#doc = :doc',
            ExpressionAttributeNames: { '#doc': 'doc' },
            ExpressionAttributeValues: { ':doc': JSON.stringify(doc) },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },
  };
}

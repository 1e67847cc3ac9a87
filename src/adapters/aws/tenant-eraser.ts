import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantId } from '../../core/ids.ts';
import type { TenantEraser } from '../../ports/operation-store.ts';
import { tenantPartitionKey } from './job-store.ts';

/**
 * What of a tenant the ports cannot enumerate on AWS, in the shared table: every item of its partition
 * (Idempotency-Keys whose job was never created, anything a crash left). Queue traces need nothing:
 * SQS messages of a tenant that no longer exists are dropped by the handlers, and dedup items expire
 * by TTL within minutes. S3 has no folders to remove once the objects are gone.
 */
export function createDynamoTenantEraser(options: {
  client: DynamoDBDocumentClient;
  sharedTable: string;
}): TenantEraser {
  const { client, sharedTable } = options;
  return {
    async eraseJobItems(tenantId: TenantId): Promise<number> {
      const pk = tenantPartitionKey(tenantId);
      let erased = 0;
      for (;;) {
        // Always the first page: each round deletes what the previous one found.
        const page = await client.send(
          new QueryCommand({
            TableName: sharedTable,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ProjectionExpression: 'pk, sk',
            ConsistentRead: true,
            Limit: 25,
          }),
        );
        const keys = (page.Items ?? []) as { pk: string; sk: string }[];
        if (keys.length === 0) return erased;
        let requests = keys.map((Key) => ({ DeleteRequest: { Key } }));
        while (requests.length > 0) {
          const out = await client.send(new BatchWriteCommand({ RequestItems: { [sharedTable]: requests } }));
          requests = (out.UnprocessedItems?.[sharedTable] ?? []) as typeof requests;
        }
        erased += keys.length;
      }
    },
    async eraseQueueTraces(): Promise<number> {
      return 0;
    },
    async eraseObjectRoot(): Promise<void> {},
  };
}

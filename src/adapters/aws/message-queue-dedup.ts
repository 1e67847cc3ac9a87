import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { isFifo } from './message-queue-messages.ts';

/** The table standard queues' dedup ids are kept in (`SqsMessageQueueOptions.dedup`). */
export interface SqsDedupTable {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a dedup id is held, seconds (default 300, SQS FIFO's window). */
  windowSec?: number;
}

/**
 * Dedup ids on SQS standard queues, which reject MessageDeduplicationId: a conditional put of
 * `DEDUP#{queue}` / `{dedupId}` that expires after the window. Without a table (or on a `.fifo` queue,
 * where SQS dedups itself) every claim answers `none`.
 */
export function createSqsDedup(table: SqsDedupTable | undefined) {
  const dedupWindowSec = table?.windowSec ?? 300;

  /** Claims the dedup id for the window; `duplicate` when a message with it was sent within the window. */
  async function claimDedup(
    queue: string,
    dedupId: string | undefined,
  ): Promise<'claimed' | 'duplicate' | 'none'> {
    if (!table || dedupId === undefined || isFifo(queue)) return 'none';
    const now = Math.floor(Date.now() / 1000);
    try {
      await table.client.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { pk: `DEDUP#${queue}`, sk: dedupId, expiresAt: now + dedupWindowSec },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return 'claimed';
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return 'duplicate';
      throw error;
    }
  }

  /** The message id the first send with this dedup id got, as SQS FIFO answers a duplicate. */
  async function firstMessageId(queue: string, dedupId: string): Promise<string> {
    const out = await table!.client.send(
      new GetCommand({
        TableName: table!.tableName,
        Key: { pk: `DEDUP#${queue}`, sk: dedupId },
        ConsistentRead: true,
      }),
    );
    return (out.Item?.messageId as string | undefined) ?? `dedup:${dedupId}`;
  }

  async function recordDedup(queue: string, dedupId: string | undefined, messageId: string): Promise<void> {
    if (!table || dedupId === undefined) return;
    await table.client.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: `DEDUP#${queue}`, sk: dedupId },
        UpdateExpression: 'SET messageId = :id',
        ExpressionAttributeValues: { ':id': messageId },
      }),
    );
  }

  async function releaseDedup(queue: string, dedupId: string | undefined): Promise<void> {
    if (!table || dedupId === undefined) return;
    await table.client.send(
      new DeleteCommand({ TableName: table.tableName, Key: { pk: `DEDUP#${queue}`, sk: dedupId } }),
    );
  }

  return { claimDedup, firstMessageId, recordDedup, releaseDedup };
}

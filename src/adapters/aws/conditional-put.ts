import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from './cursor.ts';

/**
 * The two single-item conditional writes every DynamoDB store here is built on. Each returns false when
 * the condition failed, so the caller raises the error its port promises.
 */
export async function putIfAbsent(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  return conditionalPut(client, {
    TableName: tableName,
    Item: item,
    ConditionExpression: 'attribute_not_exists(pk)',
  });
}

/** Compare-and-set on the item's `version` attribute. */
export async function putIfVersion(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  expectedVersion: number,
): Promise<boolean> {
  return conditionalPut(client, {
    TableName: tableName,
    Item: item,
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expectedVersion },
  });
}

/**
 * Writes the item where one exists whose `version` is missing or no number (changed outside Silopool), so
 * that a damaged item can be replaced: put-if-absent fails on it and compare-and-set has no number to
 * compare. Once one writer has put a numeric `version`, the others' condition fails and they compare-and-set.
 */
export async function putIfVersionDamaged(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  return conditionalPut(client, {
    TableName: tableName,
    Item: item,
    ConditionExpression: 'attribute_exists(pk) AND NOT attribute_type(#version, :number)',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':number': 'N' },
  });
}

async function conditionalPut(
  client: DynamoDBDocumentClient,
  input: ConstructorParameters<typeof PutCommand>[0],
): Promise<boolean> {
  try {
    await client.send(new PutCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

import { ValidationError } from '../../core/errors.ts';

/** A DynamoDB key as an opaque, URL-safe page cursor. */
export function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ pk: key.pk, sk: key.sk })).toString('base64url');
}

/**
 * Decodes a cursor and checks it names an item of `pk` whose sort key starts with `skPrefix`, so a
 * cursor built by hand can never start a query in another tenant's partition.
 */
export function decodeCursor(cursor: string, pk: string, skPrefix: string): { pk: string; sk: string } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const { pk: keyPk, sk } = (key ?? {}) as { pk?: unknown; sk?: unknown };
  if (keyPk !== pk || typeof sk !== 'string' || !sk.startsWith(skPrefix)) {
    throw new ValidationError([
      {
        path: '/cursor',
        message: 'must be a cursor returned by the previous page of this list',
        rule: 'cursor',
      },
    ]);
  }
  return { pk, sk };
}

/** DynamoDB's conditional-write failure, as thrown by the SDK and by emulators. */
export function isConditionFailed(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

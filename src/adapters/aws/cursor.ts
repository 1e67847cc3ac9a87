import { decodePageCursor, encodePageCursor } from '../../core/page-cursor.ts';

/** A DynamoDB key as a page cursor of `list` (core/page-cursor.ts): its sort key; the partition is the view's. */
export function encodeCursor(list: string, key: Record<string, unknown>): string {
  return encodePageCursor(list, String(key.sk));
}

/**
 * Decodes a cursor of `list` into the start key of a query of partition `pk`, and checks its sort key starts
 * with `skPrefix`: a cursor never names a partition, so one built by hand never starts a query in another
 * tenant's.
 */
export function decodeCursor(
  cursor: string,
  list: string,
  pk: string,
  skPrefix: string,
): { pk: string; sk: string } {
  return {
    pk,
    sk: decodePageCursor(cursor, list, (sk) => sk.startsWith(skPrefix) && sk.length > skPrefix.length),
  };
}

/** DynamoDB's conditional-write failure, as thrown by the SDK and by emulators. */
export function isConditionFailed(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

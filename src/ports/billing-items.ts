/**
 * Billing's own items (plans, plan changes, adjustments, closed statements), each a JSON document under a
 * partition and sort key — the shape of a DynamoDB table, so both adapters are a few lines. Writes are
 * single-item; `ifAbsent` is the conditional write that makes a closed statement immutable.
 */
export interface BillingItems {
  /** Stores `doc`; with `ifAbsent`, only when no item has the key (returns false then). */
  put(pk: string, sk: string, doc: unknown, options?: { ifAbsent?: boolean }): Promise<boolean>;
  get<T>(pk: string, sk: string): Promise<T | undefined>;
  /** Items of `pk` whose sort key starts with `skPrefix`, in sort key order. */
  query<T>(pk: string, skPrefix: string): Promise<T[]>;
  /**
   * Deletes the item only while it still holds `doc` (compared as stored JSON): a conditional delete, so an
   * item rewritten since it was read is kept. Returns false when nothing was deleted.
   */
  deleteIf(pk: string, sk: string, doc: unknown): Promise<boolean>;
}

import type { TenantId } from '../core/ids.ts';
import type { DayRange, UsageRecord } from '../core/usage.ts';

/**
 * Usage records of every tenant, kept apart from job stores so moves and offboarding never touch them.
 * Writes are idempotent by `id` (SQLite `INSERT OR IGNORE`; DynamoDB `attribute_not_exists`): a record
 * written twice is stored once, and the first write wins.
 */
export interface UsageLedger {
  /** Stores the records whose ids are new; returns how many were new. */
  record(records: readonly UsageRecord[]): Promise<number>;
  /** One tenant's records: the only view a tenant-facing route may use. */
  forTenant(tenantId: TenantId): TenantUsageLedger;
  /** Every tenant's records on the days of `range` (operators and statements). */
  list(range: DayRange): Promise<UsageRecord[]>;
}

export interface TenantUsageLedger {
  readonly tenantId: TenantId;
  /** This tenant's records on the days of `range`, oldest day first. */
  list(range: DayRange): Promise<UsageRecord[]>;
}

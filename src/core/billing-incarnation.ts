import type { Lifetime } from './statement.ts';
import type { UsageRecord } from './usage.ts';

/**
 * A tenant id can be offboarded and created again: a new incarnation, perhaps another customer. Billing
 * data outlives offboarding and is kept by tenant id (the ledger, adjustments, plan changes, statements),
 * so what belongs to which incarnation is told by time: the live tenant's is what was made, or happened,
 * since its creation (`createdAt`). Months before the month of its creation are its predecessors' alone.
 */
export interface BillingIncarnation {
  createdAt?: string;
  incarnation?: string;
  /** When it was offboarded (a former tenant, src/control/former-tenants.ts). */
  offboardedAt?: string;
}

/** Whether `month` (`YYYY-MM`) began before this incarnation's month of creation: a predecessor's month. */
export function isBeforeIncarnation(tenant: BillingIncarnation | undefined, month: string): boolean {
  return tenant?.createdAt !== undefined && month < tenant.createdAt.slice(0, 7);
}

/**
 * The UTC days of `month` this incarnation billed for: from its creation day to its offboarding day
 * (both counted). Nothing is known of a predecessor's month (an incarnation created later): all of it.
 */
export function lifetimeIn(tenant: BillingIncarnation | undefined, month: string): Lifetime {
  if (!tenant || isBeforeIncarnation(tenant, month)) return {};
  return {
    ...(tenant.createdAt ? { from: tenant.createdAt.slice(0, 10) } : {}),
    ...(tenant.offboardedAt ? { to: tenant.offboardedAt.slice(0, 10) } : {}),
  };
}

/**
 * The records of this incarnation: those from its creation on. A storage day or lane hour it was created in
 * starts at its creation (core/usage.ts `periodOf`); one that started before is its predecessor's, whose
 * period it only overlaps (it was billed that day's bytes when it was one id per day).
 */
export function recordsOfIncarnation<T extends Pick<UsageRecord, 'at' | 'meter'>>(
  tenant: BillingIncarnation | undefined,
  records: readonly T[],
): T[] {
  const since = tenant?.createdAt ? Date.parse(tenant.createdAt) : Number.NaN;
  if (Number.isNaN(since)) return [...records];
  return records.filter((r) => Date.parse(r.at) >= since);
}

/**
 * The billing items (plan changes, adjustments) a statement of `month` takes: for the live incarnation's
 * months, only its own; a month before it existed is its predecessors', whatever was made for it (a
 * correction of it made later included). An item names the incarnation it was made for; one made before
 * items named it is told by its time.
 */
export function itemsOfIncarnation<T extends { createdAt: string; incarnation?: string }>(
  tenant: BillingIncarnation | undefined,
  month: string | undefined,
  items: readonly T[],
): T[] {
  const since = tenant?.createdAt;
  if (!since || (month !== undefined && isBeforeIncarnation(tenant, month))) return [...items];
  return items.filter((i) =>
    i.incarnation !== undefined && tenant?.incarnation !== undefined
      ? i.incarnation === tenant.incarnation
      : i.createdAt >= since,
  );
}

import type { TenantId } from '../core/ids.ts';
import type { Adjustment, PlanAssignment } from '../core/statement.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import type { BillingItems } from '../ports/billing-items.ts';

// How a write of a month's billing items (a correction, a plan change, a tenant's creation) and the close of that month agree on
// whether the closed statements bill it. A writer checked that the month was open, then wrote: a close that
// ran in between stored its statements without the item and never rewrites them (a correction answered 201
// on no statement, ever). The port has one conditional write (`ifAbsent`), so each side writes first and
// reads the other's mark second:
//
// - the close records CLOSING, then reads the month's items, and before billing each one claims its fate
//   (`billed`, a conditional put);
// - the writer stores its item, then looks for CLOSING on each month it affects. None: every close starts
//   after that look, so it reads the item (CLOSING is written before any read). Some: the close may have read
//   before the write; the writer claims the item's fate `void` with the same conditional put. The first
//   claim wins: `billed`, the statement has it and the writer succeeds; `void`, the close leaves it out (or
//   ran before it) and the writer answers 409 `month_closed`, and every reader leaves the item out.

const CLOSED = 'B#closed';
const CLOSING = 'B#closing';
const tenantKey = (tenantId: TenantId) => `B#T#${tenantId}`;

interface Fate {
  /** Its own sort key: a query returns documents, and readers look voided items up by key. */
  key: string;
  fate: 'billed' | 'void';
  /** The month whose close decided it. */
  month: string;
  at: string;
}

/** A close's intent, recorded before it reads anything (and before it stores any statement). */
export async function markClosing(billing: BillingItems, month: string, at: string): Promise<void> {
  await billing.put(CLOSING, month, { month, startedAt: at }, { ifAbsent: true });
}

/** The month's statements are all stored: the close is done. */
export async function markClosed(billing: BillingItems, month: string, at: string): Promise<void> {
  await billing.put(CLOSED, month, { month, closedAt: at }, { ifAbsent: true });
}

/** Whether the month's close finished: its statements are the ones stored, and no other. */
export async function closeFinished(billing: BillingItems, month: string): Promise<boolean> {
  return (await billing.get(CLOSED, month)) !== undefined;
}

/**
 * Whether the month's statements are closed, or being closed: a close records its intent before it stores
 * any statement, so a close cut short leaves a month that takes no correction or plan change the
 * statements already stored would miss (they are never rewritten); closing again completes it.
 */
export async function isClosed(billing: BillingItems, month: string): Promise<boolean> {
  return (
    (await billing.get(CLOSED, month)) !== undefined || (await billing.get(CLOSING, month)) !== undefined
  );
}

/** The months `from`..`to` (YYYY-MM, inclusive); just `from` when `to` is earlier. */
export function monthsBetween(from: string, to: string): string[] {
  const out = [from];
  let [y, m] = from.split('-').map(Number) as [number, number];
  for (;;) {
    m += 1;
    if (m > 12) [y, m] = [y + 1, 1];
    const next = `${y}-${String(m).padStart(2, '0')}`;
    if (next > to) return out;
    out.push(next);
  }
}

/** The key of an item's fate: an adjustment's is per its month; a plan change's is one for all months. */
export function adjustmentFateKey(a: Pick<Adjustment, 'tenantId' | 'month' | 'createdAt' | 'id'>) {
  return [tenantKey(a.tenantId), `FATE#ADJ#${a.month}#${a.createdAt}#${a.id}`] as const;
}

/**
 * The key of a tenant's creation's fate (one per incarnation, for every month): a close claims it `billed`
 * for each tenant it lists; a creation whose record is written while its month closes claims it `void`.
 */
export function creationFateKey(tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>) {
  return [tenantKey(tenant.id), `FATE#CREATED#${incarnationOf(tenant)}`] as const;
}

export function planFateKey(a: Pick<PlanAssignment, 'tenantId' | 'effective' | 'planId' | 'incarnation'>) {
  return [tenantKey(a.tenantId), `FATE#PLAN#${a.effective}#${a.planId}#${a.incarnation ?? ''}`] as const;
}

/**
 * The close's side, before it bills an item it read: true when the item is billed (its claim, or an earlier
 * close's), false when its writer voided it first (leave it out).
 */
export async function claimForClose(
  billing: BillingItems,
  key: readonly [string, string],
  month: string,
  at: string,
): Promise<boolean> {
  const fate: Fate = { key: key[1], fate: 'billed', month, at };
  if (await billing.put(key[0], key[1], fate, { ifAbsent: true })) return true;
  return (await billing.get<Fate>(key[0], key[1]))?.fate !== 'void';
}

/**
 * The writer's side, after its item is stored: undefined when the item stands (no month it affects is
 * closing, or their close billed it), else the month whose close it missed (the item is void then: the
 * caller answers 409 `month_closed`).
 */
export async function settleWrite(
  billing: BillingItems,
  key: readonly [string, string],
  months: readonly string[],
  at: string,
): Promise<string | undefined> {
  let closing: string | undefined;
  for (const month of months)
    if (await isClosed(billing, month)) {
      closing = month;
      break;
    }
  if (closing === undefined) return undefined;
  const fate: Fate = { key: key[1], fate: 'void', month: closing, at };
  if (await billing.put(key[0], key[1], fate, { ifAbsent: true })) return closing;
  return voidMonth(await billing.get<Fate>(key[0], key[1]));
}

/** The month whose close an item missed, when it is void (an item written by another caller, repeated). */
export async function voidedIn(billing: BillingItems, key: readonly [string, string]) {
  return voidMonth(await billing.get<Fate>(key[0], key[1]));
}

const voidMonth = (fate: Fate | undefined) => (fate?.fate === 'void' ? fate.month : undefined);

/** Fate keys (`adjustmentFateKey`'s sort keys) of the tenant id's adjustments of `month` that are void. */
export function voidedAdjustments(billing: BillingItems, tenantId: TenantId, month: string) {
  return voidKeys(billing, tenantKey(tenantId), `FATE#ADJ#${month}#`);
}

/** Fate keys (`planFateKey`'s sort keys) of the tenant id's plan changes that are void. */
export function voidedPlanChanges(billing: BillingItems, tenantId: TenantId) {
  return voidKeys(billing, tenantKey(tenantId), 'FATE#PLAN#');
}

async function voidKeys(billing: BillingItems, pk: string, prefix: string): Promise<Set<string>> {
  const fates = await billing.query<Fate>(pk, prefix);
  return new Set(fates.filter((f) => f.fate === 'void').map((f) => f.key));
}

import { ConflictError } from '../core/errors.ts';
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
const SLOT = 'B#close-slot';
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
  // `claims`: this close claims every item it reads (`claimForClose`), so a finished one that left an item
  // unclaimed did not read it. Closes begun by older code may not have: nothing is inferred from them.
  await billing.put(CLOSING, month, { month, startedAt: at, claims: 'every-item' }, { ifAbsent: true });
}

/** The close slot: one month closes at a time (a close of another month waits for its turn, 409). */
interface CloseSlot {
  seq: number;
  month: string;
  at: string;
  done?: true;
}

const slotKey = (seq: number) => String(seq).padStart(12, '0');

/**
 * Takes the close slot for `month` before its close reads anything, so that when a close reads an item every
 * other month is either closed (its close finished: what it claimed is known) or not begun (it will read
 * the item). A close of the same month cut short holds it still and takes it over.
 * @throws ConflictError `close_in_progress` (409) while another month's close holds it
 */
export async function takeCloseSlot(billing: BillingItems, month: string, at: string): Promise<CloseSlot> {
  for (;;) {
    const last = (await billing.query<CloseSlot>(SLOT, '')).at(-1);
    if (last && !last.done) {
      if (last.month === month) return last;
      throw new ConflictError(
        `${last.month} is being closed (or its close was cut short: close ${last.month} again); close ${month} once it is closed.`,
        'close_in_progress',
      );
    }
    const slot: CloseSlot = { seq: (last?.seq ?? 0) + 1, month, at };
    if (await billing.put(SLOT, slotKey(slot.seq), slot, { ifAbsent: true })) return slot;
  }
}

/** Frees the close slot once its month is closed (`markClosed`). */
export async function freeCloseSlot(billing: BillingItems, slot: CloseSlot): Promise<void> {
  await billing.put(SLOT, slotKey(slot.seq), { ...slot, done: true });
}

/** Whether the month's close finished and claimed every item it read (so an unclaimed one it missed). */
async function closedClaimingAll(billing: BillingItems, month: string): Promise<boolean> {
  if (!(await closeFinished(billing, month))) return false;
  return (await billing.get<{ claims?: string }>(CLOSING, month))?.claims === 'every-item';
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
 * close's), false when its writer voided it first (leave it out). `span`: the months the item's writer
 * settles with (a backdated plan change: its month to the month it was written). An item still unclaimed
 * that another of them, closed, left unclaimed was written after that close read (it claims every item it
 * reads): that month's statements miss it and are never rewritten, so it is void for every month (a close
 * billed it in one month and not in the other).
 */
export async function claimForClose(
  billing: BillingItems,
  key: readonly [string, string],
  month: string,
  at: string,
  span: readonly string[] = [month],
): Promise<boolean> {
  for (const other of span) {
    if (other === month || !(await closedClaimingAll(billing, other))) continue;
    if ((await billing.get<Fate>(key[0], key[1])) === undefined)
      await billing.put(key[0], key[1], { key: key[1], fate: 'void', month: other, at } satisfies Fate, {
        ifAbsent: true,
      });
    break;
  }
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

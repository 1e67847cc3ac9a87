import { incarnationOf, type Tenant } from '../core/tenant.ts';
import { monthRange, utcMonth } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { retryOnConflict } from './conflicts.ts';
import { creationFateKey, isClosed, monthsBetween, settleWrite } from './month-fence.ts';

// A tenant's creation is a write of its months' billing like a correction (control/month-fence.ts): its
// record is dated when the creation starts and written after its lanes are made, and a close of that month
// on another server that listed tenants in between stored the month without it. The month then read as
// closed, yet its statements for the tenant were computed afresh on every read (and stored by a second
// close). The creation now settles with the close: the close claims each tenant it lists `billed` before
// billing it; the creation, once its record is written, looks for a close of the months from its date to
// now and, finding one, claims its fate `void`. Void, the close left it out (or will), and the tenant is
// dated the 1st of the month after: it is billed from there, and no closed month has it.

/**
 * Settles a tenant's creation (its record just written) with the closes of the months it spans: the tenant
 * as it stands, re-dated (`createdAt`) to 00:00 UTC of the month after the last one closing when a close
 * listed the tenants before its record was written.
 */
export async function settleCreation(
  deps: { directory: TenantDirectory; billing?: BillingItems | undefined },
  tenant: Tenant,
  now = Date.now(),
): Promise<Tenant> {
  const { billing } = deps;
  if (!billing) return tenant;
  const months = monthsBetween(utcMonth(tenant.createdAt), utcMonth(now));
  if ((await settleWrite(billing, creationFateKey(tenant), months, tenant.createdAt)) === undefined)
    return tenant;
  let last = months[0]!;
  for (const month of months) if (await isClosed(billing, month)) last = month;
  const createdAt = new Date(Date.parse(`${monthRange(last).to}T00:00:00Z`) + 86_400_000).toISOString();
  return retryOnConflict(async () => {
    const current = await deps.directory.get(tenant.id);
    // Offboarded or created again meanwhile: not this creation's record any more.
    if (!current || incarnationOf(current) !== incarnationOf(tenant) || current.createdAt >= createdAt)
      return current ?? tenant;
    return deps.directory.update({ ...current, createdAt, version: current.version + 1 }, current.version);
  }, 6);
}

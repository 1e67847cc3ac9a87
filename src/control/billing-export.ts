import { createHash } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { DayRange, UsageRecord } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';

/**
 * One usage event in the shape of Stripe's Billing Meter Events API (`POST /v1/billing/meter_events`):
 * the meter's `event_name`, the customer and the value in `payload` (values are strings there),
 * `identifier` for idempotency (Stripe ignores an identifier it has seen), `timestamp` in Unix seconds.
 */
export interface MeterEvent {
  event_name: string;
  payload: { stripe_customer_id: string; value: string };
  identifier: string;
  timestamp: number;
}

/** Where events go: a JSON Lines file, or an HTTP endpoint taking `{ "events": [...] }` (a relay to Stripe). */
export type BillingSink =
  | { kind: 'file'; path: string }
  | { kind: 'http'; url: string; headers?: Record<string, string> };

/** `file:/path/events.jsonl` or `https://…` (`SILOPOOL_BILLING_EXPORT`). */
export function parseSink(value: string): BillingSink {
  if (value.startsWith('file:')) return { kind: 'file', path: value.slice('file:'.length) };
  if (/^https?:\/\//.test(value)) return { kind: 'http', url: value };
  throw new ValidationError([
    { path: '/sink', message: 'must be file:/path or an http(s) URL', rule: 'format' },
  ]);
}

/** Stripe identifiers are at most 100 characters: longer record ids are replaced by their SHA-256. */
export function identifierOf(recordId: string): string {
  return recordId.length <= 100 ? recordId : `sha256:${createHash('sha256').update(recordId).digest('hex')}`;
}

/** One event per usage record (the record id is the identifier, so a re-sent export is counted once). */
export function meterEventsOf(
  records: readonly UsageRecord[],
  customers: ReadonlyMap<string, string>,
): MeterEvent[] {
  const events: MeterEvent[] = [];
  for (const r of records) {
    const customer = customers.get(r.tenantId);
    if (!customer || r.quantity === 0) continue;
    events.push({
      event_name: `silopool_${r.meter}`,
      payload: { stripe_customer_id: customer, value: String(r.quantity) },
      identifier: identifierOf(r.id),
      timestamp: Math.floor(Date.parse(r.at) / 1000),
    });
  }
  return events;
}

const CUSTOMERS = 'B#customers';

export async function setBillingCustomer(items: BillingItems, tenantId: TenantId, customerId: unknown) {
  if (typeof customerId !== 'string' || !/^cus_[A-Za-z0-9]{1,100}$/.test(customerId))
    throw new ValidationError([
      { path: '/stripeCustomerId', message: 'must be a Stripe customer id (cus_…)', rule: 'pattern' },
    ]);
  await items.put(CUSTOMERS, tenantId, { tenantId, stripeCustomerId: customerId });
}

async function customerMap(items: BillingItems): Promise<Map<string, string>> {
  const rows = await items.query<{ tenantId: string; stripeCustomerId: string }>(CUSTOMERS, '');
  return new Map(rows.map((r) => [r.tenantId, r.stripeCustomerId]));
}

async function send(sink: BillingSink, events: MeterEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (sink.kind === 'file') {
    await appendFile(sink.path, events.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
    return;
  }
  for (let i = 0; i < events.length; i += 500) {
    const res = await fetch(sink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sink.headers },
      body: JSON.stringify({ events: events.slice(i, i + 500) }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`The billing sink answered ${res.status} for events ${i}–${i + 499}`);
  }
}

/**
 * Sends the usage of the days in `range` (past UTC days only: a day still counting would change) to the
 * sink, in batches, and remembers each day sent. Sending a day again sends the same identifiers: the
 * provider counts each once. Tenants without a customer id are named, not sent.
 */
export async function exportUsage(
  deps: { usage: UsageLedger; billing: BillingItems },
  sink: BillingSink,
  range: DayRange,
  now = Date.now(),
): Promise<{ days: string[]; events: number; tenantsWithoutCustomer: string[] }> {
  const today = new Date(now).toISOString().slice(0, 10);
  const to =
    range.to < today
      ? range.to
      : new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const customers = await customerMap(deps.billing);
  const records = range.from <= to ? await deps.usage.list({ from: range.from, to }) : [];
  const missing = new Set(records.filter((r) => !customers.has(r.tenantId)).map((r) => r.tenantId));
  const days = [...new Set(records.map((r) => r.day))].sort();
  let events = 0;
  for (const day of days) {
    const batch = meterEventsOf(
      records.filter((r) => r.day === day),
      customers,
    );
    await send(sink, batch);
    events += batch.length;
    await deps.billing.put('B#exported', day, { day, events: batch.length, at: new Date(now).toISOString() });
  }
  return { days, events, tenantsWithoutCustomer: [...missing].sort() };
}

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { recordsOfIncarnation } from '../core/billing-incarnation.ts';
import {
  NotFoundError,
  OperatorPathError,
  pathFault,
  SilopoolError,
  ValidationError,
} from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';
import type { DayRange, UsageRecord } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
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

/** Finds the customer id a usage record is billed to (undefined: none set for its tenant incarnation). */
export type CustomerOf = (record: UsageRecord) => string | undefined;

/** One event per usage record (the record id is the identifier, so a re-sent export is counted once). */
export function meterEventsOf(records: readonly UsageRecord[], customerOf: CustomerOf): MeterEvent[] {
  const events: MeterEvent[] = [];
  for (const r of records) {
    const customer = customerOf(r);
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

/** How long one batch may take at the billing provider (a meter-events call answers in well under a second). */
const SINK_TIMEOUT_MS = 30_000;

/**
 * The billing provider (a URL sink) could not be reached, timed out, or refused a batch: 502
 * `billing_sink_failed` naming the sink's origin (never its path or query, which may hold a token) and, when
 * it answered, its HTTP status (`details.upstreamStatus`). The days not yet sent stay unmarked; exporting
 * again sends them with the same identifiers.
 */
export class BillingSinkError extends SilopoolError {
  constructor(url: string, what: string, cause?: unknown, upstreamStatus?: number) {
    const origin = new URL(url).origin;
    super(
      'billing_sink_failed',
      502,
      `The billing sink at ${origin} ${what}; the days not sent stay unmarked, export again once it answers.`,
      {
        cause,
        details: { origin, ...(upstreamStatus === undefined ? {} : { upstreamStatus }) },
      },
    );
  }
}

/** What a failed fetch says went wrong: a timeout, or the network error's code or message. */
function reasonOf(error: unknown): string {
  if ((error as { name?: unknown } | null)?.name === 'TimeoutError')
    return `no answer in ${SINK_TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  return String(cause?.code ?? cause?.message ?? (error as Error)?.message ?? error);
}

/** A customer id set for one incarnation of a tenant id, from its creation (`since`). */
interface CustomerRow {
  tenantId: string;
  stripeCustomerId: string;
  /** The tenant's `createdAt`; absent on rows written before incarnations were told apart. */
  since?: string;
}

/**
 * Sets the tenant's customer id at the billing provider, for this incarnation of the tenant: a tenant id
 * offboarded and created again is another customer, and its predecessor's usage keeps its own customer.
 */
export async function setBillingCustomer(
  deps: { billing: BillingItems; directory: TenantDirectory },
  tenantId: TenantId,
  customerId: unknown,
) {
  if (typeof customerId !== 'string' || !/^cus_[A-Za-z0-9]{1,100}$/.test(customerId))
    throw new ValidationError([
      { path: '/stripeCustomerId', message: 'must be a Stripe customer id (cus_…)', rule: 'pattern' },
    ]);
  const tenant = await deps.directory.get(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
  const row: CustomerRow = { tenantId, stripeCustomerId: customerId, since: tenant.createdAt };
  await deps.billing.put(CUSTOMERS, `${tenantId}#${tenant.createdAt}`, row);
}

/**
 * Who each record is billed to: the customer set for the incarnation of its tenant id it belongs to (the
 * live tenant's records are those since its creation, core/billing-incarnation.ts; earlier ones go to the
 * customer set last before it). A predecessor that never had a customer id cannot be told apart: its
 * records then go to the live tenant's customer.
 */
async function customerLookup(deps: {
  billing: BillingItems;
  directory: TenantDirectory;
}): Promise<CustomerOf> {
  const rows = await deps.billing.query<CustomerRow>(CUSTOMERS, '');
  const byTenant = new Map<string, CustomerRow[]>();
  const live = new Map<string, Tenant | undefined>();
  for (const row of rows) {
    if (!live.has(row.tenantId)) live.set(row.tenantId, await deps.directory.get(row.tenantId as TenantId));
    // A row from before incarnations were told apart is the live tenant's if there is one.
    const since = row.since ?? live.get(row.tenantId)?.createdAt ?? '';
    byTenant.set(row.tenantId, [...(byTenant.get(row.tenantId) ?? []), { ...row, since }]);
  }
  for (const list of byTenant.values()) list.sort((a, b) => a.since!.localeCompare(b.since!));
  return (record) => {
    const list = byTenant.get(record.tenantId) ?? [];
    const tenant = live.get(record.tenantId);
    if (tenant && recordsOfIncarnation(tenant, [record]).length === 1)
      return list.findLast((r) => r.since === tenant.createdAt)?.stripeCustomerId;
    // Earlier records are a predecessor's, billed to the customer set before this tenant was created. With
    // no such customer there is no sign of a predecessor (records written for days before a tenant's
    // creation, as imports and tests do): they are the tenant's own.
    const before = tenant ? list.filter((r) => r.since! < tenant.createdAt) : list;
    return (before.length > 0 ? before : list).at(-1)?.stripeCustomerId;
  };
}

/**
 * Appends lines to a JSON Lines file. An append cut short (a kill, a full disk) leaves a torn last line and
 * the day unmarked, so the next export sends it again: its events start on a line of their own, or the
 * first would share the fragment's line and a reader would lose it.
 */
async function appendLines(path: string, lines: string): Promise<void> {
  const file = await open(path, 'a+', 0o600);
  try {
    const { size } = await file.stat();
    const last = Buffer.alloc(1);
    if (size > 0) await file.read(last, 0, 1, size - 1);
    await file.appendFile(size > 0 && last[0] !== 0x0a ? `\n${lines}` : lines);
  } finally {
    await file.close();
  }
}

async function send(sink: BillingSink, events: MeterEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (sink.kind === 'file') {
    await appendLines(sink.path, events.map((e) => `${JSON.stringify(e)}\n`).join('')).catch((error) => {
      // The operator's export path unusable (no permission, no such folder, a file in its way) is a 503 that
      // names it and what to change, not a bare 500; a full disk stays a 507 (`storageFullOr`).
      const code = (error as NodeJS.ErrnoException)?.code;
      if (pathFault(error) || code === 'ENOENT')
        throw new OperatorPathError(
          'billing_export_unwritable',
          'billing export file',
          sink.path,
          error,
          'written',
        );
      throw error;
    });
    return;
  }
  for (let i = 0; i < events.length; i += 500) {
    const range = `events ${i}–${Math.min(i + 500, events.length) - 1}`;
    // The provider unreachable, slow or refusing is its fault, not the request's: a 502 naming what it said.
    const res = await fetch(sink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...sink.headers },
      body: JSON.stringify({ events: events.slice(i, i + 500) }),
      signal: AbortSignal.timeout(SINK_TIMEOUT_MS),
    }).catch((error: unknown) => {
      throw new BillingSinkError(sink.url, `could not be reached for ${range} (${reasonOf(error)})`, error);
    });
    if (!res.ok)
      throw new BillingSinkError(sink.url, `answered ${res.status} for ${range}`, undefined, res.status);
  }
}

/**
 * Sends the usage of the days in `range` (past UTC days only: a day still counting would change) to the
 * sink, in batches, and remembers each day sent. Sending a day again sends the same identifiers: the
 * provider counts each once. Tenants without a customer id are named, not sent.
 */
export async function exportUsage(
  deps: { usage: UsageLedger; billing: BillingItems; directory: TenantDirectory },
  sink: BillingSink,
  range: DayRange,
  now = Date.now(),
): Promise<{ days: string[]; events: number; tenantsWithoutCustomer: string[] }> {
  const today = new Date(now).toISOString().slice(0, 10);
  const to =
    range.to < today
      ? range.to
      : new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const customerOf = await customerLookup(deps);
  const records = range.from <= to ? await deps.usage.list({ from: range.from, to }) : [];
  const missing = new Set(records.filter((r) => !customerOf(r)).map((r) => r.tenantId));
  const days = [...new Set(records.map((r) => r.day))].sort();
  let events = 0;
  for (const day of days) {
    const batch = meterEventsOf(
      records.filter((r) => r.day === day),
      customerOf,
    );
    await send(sink, batch);
    events += batch.length;
    await deps.billing.put('B#exported', day, { day, events: batch.length, at: new Date(now).toISOString() });
  }
  return { days, events, tenantsWithoutCustomer: [...missing].sort() };
}

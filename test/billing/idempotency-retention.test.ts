import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoBillingItems } from '../../src/adapters/aws/billing-items.ts';
import { ensureUsageTable } from '../../src/adapters/aws/usage-ledger.ts';
import { createSqliteBillingItems } from '../../src/adapters/embedded/billing-items.ts';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import {
  IDEMPOTENCY_KEY_RETENTION_MS,
  idempotentWrite,
  pruneIdempotencyKeys,
} from '../../src/control/billing-idempotency.ts';
import type { BillingItems } from '../../src/ports/billing-items.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';

// Idempotency keys are kept 24 hours from their claim (as Stripe keeps its own), then pruned: a retry inside
// the window is still answered as the first time, whatever the pruning does; one after it is a new request.
const HOUR = 3_600_000;
let dir: string;
let db: SqliteDatabase;
let aws: AwsEmulators;
const stores: [string, () => BillingItems][] = [
  ['SQLite on disk', () => createSqliteBillingItems(db)],
  ['DynamoDB', () => createDynamoBillingItems({ client: aws.dynamo, tableName: table })],
];
const table = `usage-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-idem-'));
  db = openDatabase(join(dir, 'jobs.sqlite'));
  aws = await startAwsEmulators();
  await ensureUsageTable(aws.dynamo, table);
}, 60_000);
afterAll(async () => {
  db?.close();
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A write that counts its runs and answers with the fixed id it was given. */
function counted() {
  const runs: string[] = [];
  return {
    runs,
    write: async ({ id }: { now: number; id: string }) => {
      runs.push(id);
      return { id };
    },
  };
}

describe.each(stores)('Idempotency-Key retention (%s)', (_name, billingOf) => {
  it('keeps a key 24 h: pruning inside the window leaves it, a retry there is the first answer', async () => {
    const billing = billingOf();
    const t0 = Date.parse('2026-11-10T12:00:00Z');
    const key = `k-${randomUUID()}`;
    const w = counted();
    const first = await idempotentWrite(billing, 'adjustment', key, { a: 1 }, w.write, t0);
    // One millisecond short of the retention: the key stays, and the retry is not run again.
    expect(await pruneIdempotencyKeys(billing, t0 + IDEMPOTENCY_KEY_RETENTION_MS - 1)).toBe(0);
    const retry = await idempotentWrite(
      billing,
      'adjustment',
      key,
      { a: 1 },
      w.write,
      t0 + IDEMPOTENCY_KEY_RETENTION_MS - 1,
    );
    expect(retry).toEqual(first);
    expect(w.runs).toHaveLength(1);
    expect(IDEMPOTENCY_KEY_RETENTION_MS).toBe(24 * HOUR);
  });

  it('prunes keys once 24 h old, and a key used after that is a new request', async () => {
    const billing = billingOf();
    const t0 = Date.parse('2026-11-11T12:00:00Z');
    const old = `old-${randomUUID()}`;
    const young = `young-${randomUUID()}`;
    const w = counted();
    await idempotentWrite(billing, 'adjustment', old, { a: 1 }, w.write, t0);
    await idempotentWrite(billing, 'plan-change', young, { p: 1 }, w.write, t0 + 2 * HOUR);
    const at = t0 + IDEMPOTENCY_KEY_RETENTION_MS;
    expect(await pruneIdempotencyKeys(billing, at)).toBeGreaterThanOrEqual(1);
    expect(await billing.get('IDEMPOTENCY', `adjustment#${old}`)).toBeUndefined();
    expect(await billing.get('IDEMPOTENCY', `plan-change#${young}`)).toBeDefined();
    // The pruned key, even with another body, is a new request now (no 409): it runs once more.
    const again = await idempotentWrite(billing, 'adjustment', old, { a: 2 }, w.write, at);
    expect(w.runs).toHaveLength(3);
    expect(again.id).toBe(w.runs[2]);
  });

  it('an expired key not yet pruned is new to its next request, and a racing pair makes one write', async () => {
    const billing = billingOf();
    const t0 = Date.parse('2026-11-12T12:00:00Z');
    const key = `race-${randomUUID()}`;
    const w = counted();
    await idempotentWrite(billing, 'adjustment', key, { a: 1 }, w.write, t0);
    const later = t0 + 25 * HOUR;
    const [x, y] = await Promise.all([
      idempotentWrite(billing, 'adjustment', key, { a: 1 }, w.write, later),
      idempotentWrite(billing, 'adjustment', key, { a: 1 }, w.write, later),
    ]);
    // Both answers name one claim's id: the second request ran (if at all) with the claim the first made.
    expect(x.id).toBe(y.id);
    expect(new Set(w.runs.slice(1))).toEqual(new Set([x.id]));
    // The claim made then is the one kept: pruning an hour after it leaves it.
    await pruneIdempotencyKeys(billing, later + HOUR);
    expect(await billing.get('IDEMPOTENCY', `adjustment#${key}`)).toMatchObject({ now: later });
  });

  it('a key pruned between a request finding it and reading it is claimed anew, not refused', async () => {
    const billing = billingOf();
    const t0 = Date.parse('2026-11-13T12:00:00Z');
    const key = `pruned-${randomUUID()}`;
    const w = counted();
    await idempotentWrite(billing, 'adjustment', key, { a: 1 }, w.write, t0);
    const later = t0 + 25 * HOUR;
    let pruned = false;
    // The server's pruning runs after the request's claim found the key and before it reads it.
    const racing: BillingItems = {
      ...billing,
      get: async <T>(pk: string, sk: string) => {
        if (!pruned && sk === `adjustment#${key}`) {
          pruned = true;
          await pruneIdempotencyKeys(billing, later);
        }
        return billing.get<T>(pk, sk);
      },
    };
    const again = await idempotentWrite(racing, 'adjustment', key, { a: 1 }, w.write, later);
    expect(w.runs).toHaveLength(2);
    expect(again.id).toBe(w.runs[1]);
  });
});

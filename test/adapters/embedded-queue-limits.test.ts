import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import type { ReceivedMessage } from '../../src/ports/message-queue.ts';
import { newTenantId } from '../support/server.ts';

const dirs: string[] = [];
const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Two connections to one file, as two function threads have. */
function twoConnections() {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-limits-'));
  dirs.push(dir);
  const open = () => {
    const db = openDatabase(join(dir, 'q.sqlite'));
    closers.push(() => db.close());
    return createSqliteMessageQueue(db, { pollIntervalMs: 10 });
  };
  return [open(), open()] as const;
}

const SCOPE = ['shared_finance', 'shared_funds'];
const limit = { runningLimit: { scope: SCOPE, defaultLimit: 3 } };
const groupsOf = (got: ReceivedMessage[]) => got.map((m) => m.groupId);

describe('running limits counted in the claim', () => {
  it('hands a tenant no more than its limit across connections and queues, and frees a slot on delete or retry', async () => {
    const [a, b] = twoConnections();
    const busy = newTenantId('busy');
    const other = newTenantId('other');
    for (const q of SCOPE) await a.createQueue(q, { visibilityTimeoutSec: 30 });
    for (const q of SCOPE) {
      await a.sendBatch(
        q,
        Array.from({ length: 6 }, (_, i) => ({ body: `${q}-${i}`, groupId: busy })),
      );
    }
    await a.sendBatch('shared_finance', [{ body: 'o', groupId: other }]);
    await a.setGroupLimit(busy, 2);

    const first = await a.receive('shared_finance', { maxMessages: 10, ...limit });
    const second = await b.receive('shared_funds', { maxMessages: 10, ...limit });
    // Two of `busy` in flight over both queues, whichever connection claimed; `other` is not held back.
    expect([...groupsOf(first), ...groupsOf(second)].filter((g) => g === busy)).toHaveLength(2);
    expect(groupsOf(first)).toContain(other);
    expect(await b.receive('shared_funds', { maxMessages: 10, ...limit })).toEqual([]);
    expect((await a.runningByGroup(SCOPE)).get(busy)).toBe(2);

    // A finished job (deleted) and a failed one (released for a retry later) each free a slot at once.
    const held = [...first, ...second].filter((m) => m.groupId === busy);
    const [done, failed] = held;
    const queueOf = (m: ReceivedMessage) =>
      m.body.startsWith('shared_funds') ? 'shared_funds' : 'shared_finance';
    await a.delete(queueOf(done!), done!.receiptHandle);
    expect(groupsOf(await b.receive('shared_funds', { maxMessages: 10, ...limit }))).toEqual([busy]);
    await b.releaseForRetry(queueOf(failed!), failed!.receiptHandle, 60);
    expect(groupsOf(await a.receive('shared_finance', { maxMessages: 10, ...limit }))).toEqual([busy]);
    expect((await a.runningByGroup(SCOPE)).get(busy)).toBe(2);
  });

  it('pauses a tenant whose limit is 0 and applies the default limit to a tenant without one', async () => {
    const [a] = twoConnections();
    const paused = newTenantId('paused');
    const unknown = newTenantId('unknown');
    await a.createQueue('shared_finance', { visibilityTimeoutSec: 30 });
    await a.sendBatch('shared_finance', [
      ...Array.from({ length: 3 }, () => ({ body: 'p', groupId: paused })),
      ...Array.from({ length: 5 }, () => ({ body: 'u', groupId: unknown })),
    ]);
    await a.setGroupLimit(paused, 0);
    const got = await a.receive('shared_finance', { maxMessages: 10, ...limit });
    expect(groupsOf(got)).toEqual([unknown, unknown, unknown]);
    // Without the option the same queue hands out anything (SQS semantics).
    expect(await a.receive('shared_finance', { maxMessages: 10 })).toHaveLength(5);
  });

  it('stops counting a message whose visibility ran out (its thread died): the tenant gets its slot back', async () => {
    const [a, b] = twoConnections();
    const tenant = newTenantId('lapsed');
    await a.createQueue('shared_finance', { visibilityTimeoutSec: 30 });
    await a.sendBatch('shared_finance', [
      { body: '1', groupId: tenant },
      { body: '2', groupId: tenant },
    ]);
    await a.setGroupLimit(tenant, 1);
    const [held] = await a.receive('shared_finance', {
      maxMessages: 10,
      visibilityTimeoutSec: 0.2,
      ...limit,
    });
    expect(held).toBeDefined();
    expect(await b.receive('shared_finance', { maxMessages: 10, ...limit })).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await b.receive('shared_finance', { maxMessages: 10, ...limit })).toHaveLength(1);
  });
});

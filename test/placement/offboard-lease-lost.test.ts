import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { createMoveRunner, type MoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { OperationStore } from '../../src/ports/operation-store.ts';
import { newTenantId } from '../support/server.ts';
import { until } from './helpers.ts';

let dir: string;
let platform: EmbeddedPlatform;
const runners: MoveRunner[] = [];
const releases: (() => void)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-offboard-lease-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  for (const r of releases.splice(0)) r();
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  releases.push(open);
  return { opened, open };
};

// Moves checked their lease before each step; an offboarding (and an apply, an onboarding) never did: a
// process frozen past its lease's expiry went on with its steps (cancelling, exporting, erasing) beside the
// process that had taken the operation over.
describe('an offboarding whose driver froze past its lease', () => {
  it('is not driven on by that driver once another holds it', async () => {
    const id = parseTenantId(newTenantId('offlease'));
    await createTenant(platform, { id, name: 'Frozen driver' });
    const inner = createSqliteOperationStore(platform.db);
    // Driver A: its process freezes inside its first step (its writes, the lease's renewals among them, wait).
    const thawA = gate();
    let frozen = false;
    const storeA: OperationStore = {
      get: (opId) => inner.get(opId),
      listRunning: () => inner.listRunning(),
      listByTenant: (t) => inner.listByTenant(t),
      create: (op) => inner.create(op),
      deleteByTenant: (t, except) => inner.deleteByTenant(t, except),
      update: async (next, version) => {
        if (frozen) await thawA.opened;
        return inner.update(next, version);
      },
    };
    let routingA = 0;
    const a = createMoveRunner({
      ...platform,
      operations: storeA,
      drive: 'here',
      leaseMs: 300,
      pollMs: 10,
      retryMs: 20,
      onRoutingChange: async () => {
        routingA++;
        if (routingA === 1) {
          frozen = true;
          await thawA.opened;
        }
      },
    });
    runners.push(a);
    const op = await a.offboard(id);
    await until('driver A to freeze in its first step', async () => frozen);

    // Driver B takes the operation over once A's lease has run out, and is held in its own first step.
    const holdB = gate();
    let routingB = 0;
    const b = createMoveRunner({
      ...platform,
      operations: createSqliteOperationStore(platform.db),
      drive: 'here',
      leaseMs: 300,
      pollMs: 10,
      retryMs: 20,
      onRoutingChange: async () => {
        routingB++;
        if (routingB === 1) await holdB.opened;
      },
    });
    runners.push(b);
    await b.resume();
    await until('driver B to take over', async () => routingB > 0);

    // A thaws while B drives: it must stop at its next step, not go on to export and erase.
    frozen = false;
    thawA.open();
    await new Promise((r) => setTimeout(r, 500));
    expect(routingA).toBe(1);
    holdB.open();
    await until('the offboarding to end', async () => (await inner.get(op.id))?.status !== 'running');
    expect((await inner.get(op.id))?.status).toBe('succeeded');
    expect(routingA).toBe(1);
    expect(routingB).toBe(2);
  }, 30_000);
});

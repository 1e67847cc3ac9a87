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
let moves: MoveRunner | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-move-retry-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await moves?.stop();
  moves = undefined;
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The operation store, whose reads fail `failures` times once armed (a store out for a moment). */
function flaky(store: OperationStore, failures: number) {
  const state = { armed: false, failures };
  const wrapped: OperationStore = {
    ...store,
    async get(id) {
      if (state.armed && state.failures-- > 0) throw new Error('operation store unavailable for a moment');
      return store.get(id);
    },
  };
  return { store: wrapped, state };
}

// A move whose driver hit an error outside its steps (which retry on their own) stayed `running` with
// nothing driving it, refusing the tenant's next move until the server restarted.
describe('a placement move whose driver hits an error', () => {
  it('is driven again and ends, without a restart', async () => {
    const id = parseTenantId(newTenantId('mvr'));
    await createTenant(platform, { id, name: 'Retry' });
    const operations = flaky(createSqliteOperationStore(platform.db), 2);
    moves = createMoveRunner({
      ...platform,
      operations: operations.store,
      graceMs: 10,
      pollMs: 10,
      retryMs: 20,
    });
    operations.state.armed = true;
    const op = await moves.start(id, 'dedicated');
    await until(
      'the move to end',
      async () => (await createSqliteOperationStore(platform.db).get(op.id))?.status !== 'running',
    );
    expect(operations.state.failures).toBeLessThan(0);
    expect((await createSqliteOperationStore(platform.db).get(op.id))?.status).toBe('succeeded');
    expect((await platform.directory.get(id))?.placement).toBe('dedicated');
  });
});

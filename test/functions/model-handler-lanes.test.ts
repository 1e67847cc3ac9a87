import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { laneFor, type StoreRef } from '../../src/core/placement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createModelHandler } from '../../src/functions/model-handler.ts';
import { scopeObjects } from '../../src/ports/object-store.ts';
import { laneDataFor } from '../../src/ports/placement-data.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { newTenantId } from '../support/server.ts';

// On AWS a dedicated function's role reaches only its tenant's table and bucket. During a demotion reads
// route to the shared store first, yet the dedicated lane still holds old jobs whose records are in the
// tenant's own store: the handler must take the store from the message's lane and never touch shared.
let dir: string;
let platform: EmbeddedPlatform;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-lanes-'));
  platform = openEmbeddedPlatform(dir);
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The stores as a dedicated function's role sees them: the shared ones refuse every call. */
function withoutShared(stores: StoreProvider): StoreProvider {
  const allowed = (ref: StoreRef): StoreRef => {
    if (ref.kind === 'shared')
      throw new Error('AccessDenied: the dedicated role cannot reach the shared store');
    return ref;
  };
  return {
    ...stores,
    jobs: (ref) => stores.jobs(allowed(ref)),
    objects: (ref) => stores.objects(allowed(ref)),
  };
}

describe('the model handler during a move', () => {
  it("runs a dedicated lane's job from the tenant's own store while a demotion routes new work to shared", async () => {
    const id = parseTenantId(newTenantId('lane'));
    const { tenant } = await createTenant(platform, { id, name: 'Lanes', placement: 'dedicated' });
    const own = { kind: 'dedicated', tenantId: id } as const;
    const { job } = await submitJob(platform.intake, {
      tenant,
      data: {
        jobs: platform.stores.jobs(own).forTenant(id),
        objects: scopeObjects(platform.stores.objects(own), id),
      },
      model: 'finance',
      input: { revenue: 1_000_000 },
    });
    // The demotion's routing change: new jobs to shared; reads try shared first.
    await platform.directory.update(
      {
        ...tenant,
        move: { operationId: 'op_test', from: 'dedicated', to: 'shared', phase: 'draining' },
        version: tenant.version + 1,
      },
      tenant.version,
    );
    const queue = laneFor(tenant, 'finance').queue;
    const messages = await platform.queue.receive(queue, {
      maxMessages: 1,
      visibilityTimeoutSec: 30,
      waitTimeSec: 1,
    });
    expect(messages).toHaveLength(1);
    const handler = createModelHandler({
      directory: platform.directory,
      dataFor: laneDataFor(withoutShared(platform.stores)),
    });
    const result = await handler(toSqsEvent(queue, messages));
    expect(result.batchItemFailures).toEqual([]);
    const done = await platform.stores.jobs(own).forTenant(id).get(job.id);
    expect(done?.status).toBe('succeeded');
    expect(done?.artifacts).toHaveLength(1);
  });
});

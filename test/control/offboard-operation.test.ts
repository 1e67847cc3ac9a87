import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  createEmbeddedTenantEraser,
  createSqliteOperationStore,
} from '../../src/adapters/embedded/operation-store.ts';
import { ensureQueue, laneInfrastructure, WEBHOOK_QUEUE } from '../../src/control/lanes.ts';
import type { EraseDeps, Offboarded } from '../../src/control/offboard-erase.ts';
import { eraseRemains, findRemains } from '../../src/control/offboard-erase.ts';
import { newOffboardOperation, offboardNow } from '../../src/control/offboard-operation.ts';
import { changeOperation } from '../../src/control/operations.ts';
import { updateTenant } from '../../src/control/tenants.ts';
import { NotFoundError } from '../../src/core/errors.ts';
import { newJobId, parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { artifactKey, type JobRecord } from '../../src/core/job.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { webhookMessageFor } from '../../src/functions/webhook-message.ts';
import { scopeObjects } from '../../src/ports/object-store.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeTenant } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

const openPlatform = tempPlatforms('offboard');

async function setUp() {
  const { platform, dir } = openPlatform('process');
  for (const queue of ['shared_finance', 'shared_funds', WEBHOOK_QUEUE])
    await ensureQueue(platform.queue, queue);
  const deps: EraseDeps = {
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    operations: createSqliteOperationStore(platform.db),
    eraser: createEmbeddedTenantEraser(platform.db, dir, platform.jobsDb),
  };
  const newTenant = async (): Promise<Tenant> => {
    const tenant = makeTenant(parseTenantId(`off-${randomUUID().slice(0, 8)}`), {
      name: 'Leaving',
      incarnation: randomUUID(),
    });
    await platform.directory.create(tenant);
    return tenant;
  };
  const addJob = async (
    tenantId: TenantId,
    body = new TextEncoder().encode('a workbook'),
    input: Record<string, unknown> = {},
  ): Promise<JobRecord> => {
    const now = new Date().toISOString();
    const job: JobRecord = {
      id: newJobId(),
      tenantId,
      model: 'finance',
      modelVersion: '1.0.0',
      status: 'succeeded',
      input,
      effectiveInput: {},
      rules: {},
      artifacts: [],
      attempts: 1,
      cost: 1,
      priority: 1,
      createdAt: now,
      updatedAt: now,
      version: 3,
    };
    await platform.stores.jobs({ kind: 'shared' }).forTenant(tenantId).create(job);
    await scopeObjects(platform.stores.objects({ kind: 'shared' }), tenantId).put(
      artifactKey(job.id, 'workbook.xlsx'),
      body,
      'application/octet-stream',
    );
    return job;
  };
  return { platform, dir, deps, newTenant, addJob };
}

describe('starting an offboarding', () => {
  it('a retry answers the offboarding in flight, also once the tenant record is gone; after it, 404', async () => {
    const { platform, deps, newTenant } = await setUp();
    const tenant = await newTenant();
    const first = await newOffboardOperation(deps, tenant.id);
    expect((await platform.directory.get(tenant.id))?.status).toBe('offboarding');
    expect((await newOffboardOperation(deps, tenant.id)).id).toBe(first.id);
    // Nor can it be made active again meanwhile (it would submit while its data is removed).
    await expect(updateTenant(deps, tenant.id, { status: 'active' })).rejects.toMatchObject({
      code: 'offboarding',
    });
    // The last step removes the record; the operation is still running until it records that.
    await platform.directory.delete(tenant.id);
    expect((await newOffboardOperation(deps, tenant.id)).id).toBe(first.id);
    await changeOperation(deps.operations, first.id, (op) => ({ ...op, status: 'succeeded' }));
    await expect(newOffboardOperation(deps, tenant.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('two requests at once start one operation', async () => {
    const { deps, newTenant } = await setUp();
    const tenant = await newTenant();
    const [a, b] = await Promise.all([
      newOffboardOperation(deps, tenant.id),
      newOffboardOperation(deps, tenant.id),
    ]);
    expect(a.id).toBe(b.id);
    expect(await deps.operations.listByTenant(tenant.id)).toHaveLength(1);
  });
});

describe('an offboarding run to its end in one process (the CLI without a server)', () => {
  it('answers the export, records the final check, and leaves no folder of the tenant', async () => {
    const { dir, deps, newTenant, addJob } = await setUp();
    const tenant = await newTenant();
    const jobs = [await addJob(tenant.id), await addJob(tenant.id)];
    const { operation, zip } = await offboardNow(deps, tenant.id);
    expect(operation.status).toBe('succeeded');
    expect(JSON.parse(operation.params.scan!)).toMatchObject({ remains: [] });
    const files = unzipSync(zip);
    for (const job of jobs) {
      expect(files[`jobs/${job.id}.json`]).toBeDefined();
      expect(new TextDecoder().decode(files[`objects/jobs/${job.id}/workbook.xlsx`]!)).toBe('a workbook');
    }
    expect(await deps.directory.get(tenant.id)).toBeUndefined();
    expect(existsSync(join(dir, 'objects', 'tenants', tenant.id))).toBe(false);
  });
});

describe('an offboarding of a tenant demoted before', () => {
  it('finishes although a store of its dedicated time was read after the demotion removed it', async () => {
    const { platform, dir, deps, newTenant, addJob } = await setUp();
    const tenant = await newTenant();
    const lanes = laneInfrastructure({ queue: platform.queue, stores: platform.stores });
    const own = { kind: 'dedicated' as const, tenantId: tenant.id };
    // Dedicated: its lanes and store made, and its data held by a handler or a route while it runs there.
    await lanes.deploy({ ...tenant, placement: 'dedicated' });
    const held = tenantDataAt(platform.stores, own, tenant.id);
    await held.jobs.countItems();
    // Demoted: its records now in the shared store, its dedicated lanes and store removed.
    await platform.directory.update({ ...tenant, placement: 'shared' }, tenant.version);
    const job = await addJob(tenant.id);
    await lanes.remove(tenant.id);
    const folder = join(dir, 'tenants', tenant.id);
    expect(existsSync(folder)).toBe(false);

    // A late read through what was held (a job finishing, a route answering) does not make the store again.
    const late = await Promise.allSettled([held.jobs.get(job.id), held.objects.list()]);
    for (const read of late)
      expect(read).toMatchObject({ status: 'rejected', reason: { code: 'store_not_found' } });
    expect(existsSync(folder)).toBe(false);

    const { operation, zip } = await offboardNow(deps, tenant.id);
    expect(operation.status).toBe('succeeded');
    expect(unzipSync(zip)[`jobs/${job.id}.json`]).toBeDefined();
    expect(existsSync(folder)).toBe(false);
    expect(await deps.directory.get(tenant.id)).toBeUndefined();
  });
});

describe('an offboarding of a shared tenant with a dedicated store left behind', () => {
  it('removes the store on its final check and finishes', async () => {
    const { platform, dir, deps, newTenant, addJob } = await setUp();
    const tenant = await newTenant();
    await addJob(tenant.id);
    // Left of its dedicated time: a demotion stopped while it removed the store, or a late read on a
    // version that made the store again.
    await platform.stores.provision({ kind: 'dedicated', tenantId: tenant.id });
    const folder = join(dir, 'tenants', tenant.id);
    expect(existsSync(folder)).toBe(true);
    const { operation } = await offboardNow(deps, tenant.id);
    expect(operation.status).toBe('succeeded');
    expect(JSON.parse(operation.params.scan!).removedOnCheck.join('; ')).toContain(
      `folder tenants/${tenant.id}`,
    );
    expect(existsSync(folder)).toBe(false);
  });
});

describe('the bytes an offboarding leaves', () => {
  it('none of its artifacts or job inputs stay in the job database file, where objects up to 1 MiB are rows', async () => {
    const { platform, dir, deps, newTenant, addJob } = await setUp();
    const tenant = await newTenant();
    // A workbook-sized artifact (overflow pages, as a real one) and an input, of texts found nowhere else.
    const marker = Buffer.from(`a workbook of ${tenant.id} `);
    const input = Buffer.from(`the input of ${tenant.id}`);
    await addJob(tenant.id, Buffer.concat(Array.from({ length: 1_000 }, () => marker)), {
      note: input.toString(),
    });
    const { operation } = await offboardNow(deps, tenant.id);
    expect(operation.status).toBe('succeeded');
    // What a backup of DATA_DIR copies: the database file once the WAL is checkpointed into it.
    platform.jobsDb.pragma('wal_checkpoint(TRUNCATE)');
    for (const file of ['jobs.sqlite', 'jobs.sqlite-wal']) {
      if (!existsSync(join(dir, file))) continue;
      const bytes = readFileSync(join(dir, file));
      expect(bytes.includes(marker), `${file}: artifact`).toBe(false);
      expect(bytes.includes(input), `${file}: input`).toBe(false);
    }
  });
});

describe('the final check of an offboarding', () => {
  it('finds what stragglers left after the removal steps (a webhook, a dead letter, a late artifact) and removes it', async () => {
    const { platform, deps, newTenant, addJob } = await setUp();
    const tenant = await newTenant();
    const bystander = await newTenant();
    const job = await addJob(tenant.id);
    const kept = await addJob(bystander.id);
    const target: Offboarded = {
      tenantId: tenant.id,
      placement: 'shared',
      jobIds: [job.id],
      operationId: 'op_x',
    };
    for (const t of [tenant, bystander]) {
      const j = t === tenant ? job : kept;
      await platform.queue.send(WEBHOOK_QUEUE, webhookMessageFor(j));
      await platform.queue.send('shared_finance', {
        body: encodeJobMessage({ tenantId: t.id, jobId: j.id, model: 'finance' }),
        groupId: t.id,
        dedupId: j.id,
      });
      platform.db
        .prepare(
          'INSERT INTO dead_letter_outbox (source, message_id, body, receive_count, moved_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(
          'shared_finance',
          randomUUID(),
          encodeJobMessage({ tenantId: t.id, jobId: j.id, model: 'finance' }),
          4,
          0,
        );
    }

    const found = await findRemains(deps, target);
    for (const what of [
      'items in the shared job store',
      'objects',
      'messages',
      'dead-letter outbox rows',
      'dedup ids',
    ])
      expect(found.join('; ')).toContain(what);
    expect(found.join('; ')).toContain('2 dedup ids'); // the job's own and its webhook's `{jobId}:succeeded`
    await eraseRemains(deps, target);
    expect(await findRemains(deps, target)).toEqual([]);

    // The bystander's records, objects, messages and dead letters are all still there.
    const other: Offboarded = { ...target, tenantId: bystander.id, jobIds: [kept.id] };
    expect((await findRemains(deps, other)).length).toBeGreaterThanOrEqual(5);
    expect(await platform.stores.jobs({ kind: 'shared' }).forTenant(bystander.id).get(kept.id)).toEqual(kept);
  });
});

// A tenant id offboarded and onboarded again is another customer. The offboarding of the second removed the
// tenant id's "other operations" and the exports they name: the first customer's finished offboarding and
// its export (kept for the operator to hand over) went with it.
describe('offboarding a tenant id onboarded again', () => {
  it("keeps its predecessor's finished offboarding and export", async () => {
    const { deps, newTenant, addJob, platform } = await setUp();
    const first = await newTenant();
    await addJob(first.id);
    const before = await offboardNow(deps, first.id);
    const exportKey = before.operation.params.export!;
    const again = makeTenant(first.id, { name: 'Next customer', incarnation: randomUUID() });
    await platform.directory.create(again);
    await addJob(again.id);
    const after = await offboardNow(deps, again.id);
    expect(after.operation.id).not.toBe(before.operation.id);
    expect((await deps.operations.get(before.operation.id))?.status).toBe('succeeded');
    const kept = await platform.stores.objects({ kind: 'shared' }).get(exportKey);
    expect(kept?.body).toEqual(before.zip);
  });
});

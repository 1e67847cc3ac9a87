import { createHash } from 'node:crypto';
import { NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { artifactKey, isTerminal, type JobRecord } from '../core/job.ts';
import { laneForPlacement, type StoreRef } from '../core/placement.ts';
import { hashRequest } from '../core/request-hash.ts';
import type { Placement } from '../core/tenant.ts';
import { deadLetterQueueName } from '../ports/message-queue.ts';
import type { TenantEraser } from '../ports/operation-store.ts';
import { type TenantData, tenantDataAt } from '../ports/stores.ts';
import type { InfrastructureOptions } from '../ports/tenant-infrastructure.ts';
import { laneQueues } from './lanes.ts';
import { meterStoreBeforeRemoval } from './meter.ts';
import { type ControlDeps, infrastructureOf } from './tenants.ts';

/** The data steps of a placement move: copy, verify, remove from the old place. Each is idempotent. */
export interface MoveDataDeps extends ControlDeps {
  eraser?: TenantEraser;
}

/**
 * Copies a drained tenant's job records, Idempotency-Keys and objects from `source` to `target`, a page
 * (1,000 records or objects) at a time, so memory stays bounded whatever the tenant holds. Idempotent: a
 * record or object already equal in the target is skipped. `report(detail, fraction)` gets progress.
 * Returns a summary line. Throws what the stores throw.
 */
export async function copyAll(
  deps: MoveDataDeps,
  tenantId: TenantId,
  source: StoreRef,
  target: StoreRef,
  report: (d: string, f?: number) => Promise<void>,
) {
  const from = tenantDataAt(deps.stores, source, tenantId);
  const to = tenantDataAt(deps.stores, target, tenantId);
  const totalJobs = await from.jobs.countItems();
  let seen = 0;
  let copied = 0;
  for await (const job of eachJob(from)) {
    const existing = await to.jobs.get(job.id);
    if (!existing) {
      await to.jobs.create(job);
      copied++;
    } else if (JSON.stringify(existing) !== JSON.stringify(job)) {
      await to.jobs.delete(job.id);
      await to.jobs.create(job);
      copied++;
    }
    await copyKey(from, to, job);
    if (++seen % 200 === 0)
      await report(`${seen} job records`, Math.min(0.5, (seen / Math.max(1, totalJobs)) * 0.5));
  }
  let objects = 0;
  let bytes = 0;
  // Keys and sizes only (no bodies): what the target already holds, read once.
  const present = new Map((await allObjects(to)).map((o) => [o.key, o.size]));
  for await (const page of objectPages(from)) {
    for (const object of page) {
      if (present.get(object.key) !== object.size) {
        const stored = await from.objects.get(object.key);
        if (stored) {
          await to.objects.put(object.key, stored.body, stored.contentType);
          bytes += stored.size;
        }
      }
      if (++objects % 100 === 0) await report(`${objects} objects`, 0.5);
    }
  }
  return `${seen} job records (${copied} written), ${objects} objects (${bytes} bytes written)`;
}

/** Idempotency-Keys of jobs from before the move exist only in the source: copy each as it is stored. */
async function copyKey(from: TenantData, to: TenantData, job: JobRecord): Promise<void> {
  if (job.idempotencyKey === undefined) return;
  const record = {
    key: job.idempotencyKey,
    requestHash: hashRequest(job.model, job.input),
    jobId: job.id,
    createdAt: job.createdAt,
  };
  const stored = await from.jobs.claimIdempotencyKey(record);
  await to.jobs.claimIdempotencyKey(stored ?? record);
}

export async function verify(deps: MoveDataDeps, tenantId: TenantId, source: StoreRef, target: StoreRef) {
  const from = tenantDataAt(deps.stores, source, tenantId);
  const to = tenantDataAt(deps.stores, target, tenantId);
  const problems: string[] = [];
  const sourceJobs = await allJobs(from);
  for (const job of sourceJobs) {
    if (!isTerminal(job.status)) problems.push(`${job.id} is ${job.status} in the source`);
    const copy = await to.jobs.get(job.id);
    if (!copy) problems.push(`${job.id} is missing in the target`);
    else if (JSON.stringify(copy) !== JSON.stringify(job)) problems.push(`${job.id} differs in the target`);
  }
  const targetJobs = await allJobs(to);
  let checked = 0;
  for (const job of targetJobs) {
    for (const artifact of job.artifacts) {
      const object = await to.objects.get(artifactKey(job.id, artifact.name));
      const sum = object ? createHash('sha256').update(object.body).digest('hex') : 'missing';
      if (sum !== artifact.sha256) problems.push(`${job.id}/${artifact.name}: sha256 ${sum} in the target`);
      checked++;
    }
  }
  const targetObjects = new Set((await allObjects(to)).map((o) => o.key));
  const sourceObjects = await allObjects(from);
  for (const o of sourceObjects)
    if (!targetObjects.has(o.key)) problems.push(`object ${o.key} is missing in the target`);
  const [sourceItems, targetItems] = await Promise.all([from.jobs.countItems(), to.jobs.countItems()]);
  if (targetItems < sourceItems)
    problems.push(`the target holds ${targetItems} items, the source ${sourceItems}`);
  return {
    problems,
    detail: `${sourceJobs.length} copied jobs match; ${checked} artifacts sha256-verified; items: source ${sourceItems}, target ${targetItems}`,
  };
}

/**
 * Removes a switched tenant from its old place: a dedicated one's resources (its dead letters moved to the
 * new lane first), or its records, keys and objects in the shared store (`removeShared`, by default
 * `removeSharedData` on this thread). Usage of its finished jobs is metered first. Idempotent.
 */
export async function removeOld(
  deps: MoveDataDeps,
  tenantId: TenantId,
  from: Placement,
  to: Placement,
  source: StoreRef,
  options?: InfrastructureOptions,
  removeShared: (tenantId: TenantId, source: StoreRef) => Promise<string> = (id, ref) =>
    removeSharedData(deps, id, ref),
): Promise<string> {
  if (from === 'shared') return removeShared(tenantId, source);
  await meterStoreBeforeRemoval(deps.usage, tenantDataAt(deps.stores, source, tenantId).jobs);
  // Dead letters keep their place in line: they move to the new lane's dead-letter queue.
  let moved = 0;
  for (const queue of laneQueues(tenantId, from)) {
    const model = queue.slice(queue.lastIndexOf('_') + 1);
    moved += await moveDeadLetters(
      deps,
      deadLetterQueueName(queue),
      deadLetterQueueName(laneForPlacement(tenantId, to, model).queue),
    );
  }
  const removed = await infrastructureOf(deps).remove(tenantId, options);
  return `${removed} (${moved} dead letters moved)`;
}

/**
 * Meters, then deletes a tenant's job records, Idempotency-Keys and objects from the shared store `source`,
 * one record or object per write (short transactions: other tenants' submits to the same file wait at
 * most one of them), then what else it held there. Returns a summary line.
 */
export async function removeSharedData(deps: MoveDataDeps, tenantId: TenantId, source: StoreRef) {
  const data = tenantDataAt(deps.stores, source, tenantId);
  await meterStoreBeforeRemoval(deps.usage, data.jobs);
  const jobs = await allJobs(data);
  for (const job of jobs) {
    if (job.idempotencyKey !== undefined) await data.jobs.deleteIdempotencyKey(job.idempotencyKey);
    await data.jobs.delete(job.id);
  }
  const objects = await allObjects(data);
  for (const o of objects) await data.objects.delete(o.key);
  const orphans = (await deps.eraser?.eraseJobItems(tenantId)) ?? 0;
  await deps.eraser?.eraseObjectRoot(tenantId);
  return `removed ${jobs.length} job records, ${orphans} other items and ${objects.length} objects from the shared store`;
}

async function moveDeadLetters(deps: MoveDataDeps, fromQueue: string, toQueue: string): Promise<number> {
  let moved = 0;
  for (;;) {
    const batch = await deps.queue
      .receive(fromQueue, { maxMessages: 10, visibilityTimeoutSec: 30 })
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return [];
        throw error;
      });
    if (batch.length === 0) return moved;
    for (const m of batch) {
      await deps.queue.send(toQueue, { body: m.body, ...(m.groupId ? { groupId: m.groupId } : {}) });
      await deps.queue.delete(fromQueue, m.receiptHandle);
      moved++;
    }
  }
}

/** Every job of a tenant in one store, newest first. */
export async function allJobs(data: TenantData): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  for await (const job of eachJob(data)) out.push(job);
  return out;
}

/** Every job of a tenant in one store, newest first, read a page of 1,000 at a time. */
export async function* eachJob(data: TenantData): AsyncGenerator<JobRecord> {
  let cursor: string | undefined;
  do {
    const page = await data.jobs.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor);
}

/** The objects of a tenant in one store, a page of 1,000 at a time (keys relative to its root). */
export async function* objectPages(data: TenantData): AsyncGenerator<{ key: string; size: number }[]> {
  let cursor: string | undefined;
  do {
    const page = await data.objects.list('', { limit: 1000, ...(cursor ? { cursor } : {}) });
    yield page.items;
    cursor = page.nextCursor;
  } while (cursor);
}

/** Every object of a tenant in one store (keys relative to its root). */
export async function allObjects(data: TenantData): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await data.objects.list('', { limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

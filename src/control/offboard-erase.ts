import type { TenantId } from '../core/ids.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { Placement } from '../core/tenant.ts';
import { deadLetterQueueName } from '../ports/message-queue.ts';
import type { Operation, OperationStore, TenantEraser } from '../ports/operation-store.ts';
import { tenantDataAt } from '../ports/stores.ts';
import type { InfrastructureOptions } from '../ports/tenant-infrastructure.ts';
import { laneQueues } from './lanes.ts';
import { allJobs, allObjects } from './move-data.ts';
import { dataOf } from './offboard.ts';
import { type ControlDeps, infrastructureOf } from './tenants.ts';

/**
 * The removal steps of an offboarding, one concern each. Every one is idempotent (it removes what is
 * still there and tolerates what an earlier, interrupted run already removed), so a resumed operation
 * simply runs the step it was in again.
 */
export interface EraseDeps extends ControlDeps {
  operations: OperationStore;
  eraser?: TenantEraser;
}

export interface Offboarded {
  tenantId: TenantId;
  placement: Placement;
  /** Every job id the export holds: the queue traces (dedup ids) are found by them after the records are gone. */
  jobIds: readonly string[];
  /** The offboarding operation itself, which stays (it holds the export's location). */
  operationId: string;
  /** The incarnation offboarded (absent on offboardings begun before they recorded it). */
  incarnation?: string;
}

/**
 * The tenant id's operations this offboarding removes: all but itself and the offboardings of the id's
 * earlier tenants (another customer each: their exports are theirs, kept for the operator to hand over).
 */
async function operationsToRemove(
  deps: EraseDeps,
  t: Offboarded,
): Promise<{ remove: Operation[]; keep: string[] }> {
  const remove: Operation[] = [];
  const keep = [t.operationId];
  for (const op of await deps.operations.listByTenant(t.tenantId)) {
    if (op.id === t.operationId) continue;
    const earlier =
      op.kind === 'offboard' &&
      t.incarnation !== undefined &&
      op.params.incarnation !== undefined &&
      op.params.incarnation !== t.incarnation;
    if (earlier) keep.push(op.id);
    else remove.push(op);
  }
  return { remove, keep };
}

/** The tenant's messages and dead letters in every queue, its fair-scheduling rows, its metrics history and its jobs' dedup ids. */
export async function eraseQueueTraces(deps: EraseDeps, t: Offboarded): Promise<string> {
  const n = (await deps.eraser?.eraseQueueTraces(t.tenantId, t.jobIds)) ?? 0;
  return `${n} messages, dead letters, scheduling rows and metrics history points removed`;
}

/** Job records and Idempotency-Keys where the tenant's placement keeps them, then its whole shared partition. */
export async function eraseJobRecords(
  deps: EraseDeps,
  t: Offboarded,
  where: Placement = t.placement,
): Promise<string> {
  const data = dataOf(deps, { id: t.tenantId, placement: where });
  const jobs = await allJobs(data);
  for (const job of jobs) {
    if (job.idempotencyKey !== undefined) await data.jobs.deleteIdempotencyKey(job.idempotencyKey);
    await data.jobs.delete(job.id);
  }
  const others = (await deps.eraser?.eraseJobItems(t.tenantId)) ?? 0;
  return `${jobs.length} job records and ${others} other items removed`;
}

/** Artifacts (and any other object) under the tenant's prefix, and the folders they leave. */
export async function eraseArtifacts(
  deps: EraseDeps,
  t: Offboarded,
  where: Placement = t.placement,
): Promise<string> {
  const data = dataOf(deps, { id: t.tenantId, placement: where });
  const objects = await allObjects(data);
  for (const o of objects) await data.objects.delete(o.key);
  await deps.eraser?.eraseObjectRoot(t.tenantId);
  return `${objects.length} objects removed`;
}

/** A dedicated tenant's own queues, store and functions (its stack on AWS); a shared tenant has none. */
export async function eraseDedicated(
  deps: EraseDeps,
  t: Offboarded,
  options?: InfrastructureOptions,
): Promise<string> {
  if (t.placement !== 'dedicated') return 'a shared tenant has no lanes or store of its own';
  return infrastructureOf(deps).remove(t.tenantId, options);
}

/** The tenant's other operations (moves, settings applied), and the exports of offboardings that did not finish. */
export async function eraseOtherOperations(deps: EraseDeps, t: Offboarded): Promise<string> {
  const { remove: others, keep } = await operationsToRemove(deps, t);
  const shared = deps.stores.objects({ kind: 'shared' });
  for (const op of others)
    if (op.kind === 'offboard' && op.params.export) await shared.delete(op.params.export);
  await deps.operations.deleteByTenant(t.tenantId, keep);
  return `${others.length} other operations removed`;
}

/**
 * Where anything of the tenant is still found, the tenant record aside (it is removed last): the shared
 * job partition and object prefix, its dedicated queues, its other operations, and what only the adapter
 * can see (`TenantEraser.findRemains`: queue rows, dedup ids, folders). Empty when nothing remains.
 */
export async function findRemains(deps: EraseDeps, t: Offboarded): Promise<string[]> {
  const found: string[] = [];
  // The shared store in either placement (a dedicated tenant may have been shared before a move); a
  // dedicated store is not opened here, which would make it again: the adapter checks it is gone.
  const shared = tenantDataAt(deps.stores, { kind: 'shared' }, t.tenantId);
  const items = await shared.jobs.countItems();
  if (items > 0) found.push(`${items} items in the shared job store`);
  const objects = await allObjects(shared);
  if (objects.length > 0) found.push(`${objects.length} objects in the shared object store`);
  const dedicated = laneQueues(t.tenantId, 'dedicated').flatMap((q) => [q, deadLetterQueueName(q)]);
  const queues = new Set(await deps.queue.listQueues(laneForPlacement(t.tenantId, 'dedicated', '').queue));
  for (const name of dedicated) if (queues.has(name)) found.push(`queue ${name}`);
  const { remove: others } = await operationsToRemove(deps, t);
  if (others.length > 0) found.push(`${others.length} other operations`);
  found.push(...((await deps.eraser?.findRemains?.(t.tenantId, t.jobIds)) ?? []));
  return found;
}

/**
 * The removal steps again, for what a straggler left after they ran (a job that finished late, a webhook
 * sent meanwhile). The shared stores only: a dedicated store is removed whole, and opening it would make it.
 * A shared tenant's dedicated store goes too, where one is left of its dedicated time (a demotion stopped
 * while it removed it, or a version that made it again on a late read): nothing else would remove it, and
 * the final check would find it on every round.
 */
export async function eraseRemains(deps: EraseDeps, t: Offboarded): Promise<void> {
  await eraseQueueTraces(deps, t);
  await eraseJobRecords(deps, t, 'shared');
  await eraseArtifacts(deps, t, 'shared');
  await eraseDedicated(deps, t);
  if (t.placement !== 'dedicated')
    await deps.stores.destroy(laneForPlacement(t.tenantId, 'dedicated', '').store);
  await eraseOtherOperations(deps, t);
}

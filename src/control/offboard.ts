import { strToU8, zipSync } from 'fflate';
import { ConditionFailedError, ConflictError, NotFoundError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { nextVersion } from '../ports/job-store.ts';
import type { OperationStore, TenantEraser } from '../ports/operation-store.ts';
import { type TenantData, tenantDataAt } from '../ports/stores.ts';
import { allJobs, allObjects } from './move-data.ts';
import { type ControlDeps, infrastructureOf } from './tenants.ts';

export interface OffboardDeps extends ControlDeps {
  operations: OperationStore;
  eraser?: TenantEraser;
  /** After the tenant record is gone, so the host stops its dedicated functions. */
  onRoutingChange?(): Promise<void>;
  /** How long to wait for running jobs to finish before exporting. */
  waitForRunningMs?: number;
}

export interface OffboardResult {
  tenantId: TenantId;
  placement: Tenant['placement'];
  jobs: number;
  cancelled: number;
  objects: number;
  /** The export: `tenant.json`, `jobs/{id}.json` and `objects/{key}` (the artifacts). */
  zip: Uint8Array;
}

/**
 * Offboards a tenant: stops new work (status `offboarding`: its credentials no longer resolve), cancels
 * queued jobs and lets running ones finish, exports its job records and artifacts as a zip, then deletes
 * everything of it in either placement: the tenant record, lanes, stores, objects, queue traces, operations.
 * In one call, for where that fits in a request; `src/control/offboard-operation.ts` runs the same steps
 * as an operation where removing a tenant's resources takes minutes (its stack on AWS).
 */
export async function offboardTenant(deps: OffboardDeps, rawId: string): Promise<OffboardResult> {
  const tenant = await beginOffboarding(deps, parseTenantId(rawId, '/params/id'));
  const data = dataOf(deps, tenant);
  let cancelled = 0;
  const deadline = Date.now() + (deps.waitForRunningMs ?? 60_000);
  for (;;) {
    const round = await cancelQueued(data);
    cancelled += round.cancelled;
    if (round.settled || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const exported = await exportTenant(tenant, data);
  await eraseTenant(deps, tenant, exported.jobs);
  await deps.operations.deleteByTenant(tenant.id);
  return {
    tenantId: tenant.id,
    placement: tenant.placement,
    jobs: exported.jobs.length,
    cancelled,
    objects: exported.objects,
    zip: exported.zip,
  };
}

/** Marks the tenant `offboarding` (idempotent): its credentials stop resolving, nothing new starts. */
export async function beginOffboarding(deps: OffboardDeps, tenantId: TenantId): Promise<Tenant> {
  const tenant = await deps.directory.get(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
  if (tenant.move)
    throw new ConflictError(
      `Tenant ${tenantId} is moving; offboard it when the move is done.`,
      'move_in_progress',
    );
  if (tenant.status === 'offboarding') return tenant;
  return deps.directory.update(
    { ...tenant, status: 'offboarding', version: tenant.version + 1, updatedAt: new Date().toISOString() },
    tenant.version,
  );
}

export function dataOf(deps: ControlDeps, tenant: Pick<Tenant, 'id' | 'placement'>): TenantData {
  return tenantDataAt(deps.stores, laneForPlacement(tenant.id, tenant.placement, '').store, tenant.id);
}

/** Cancels the tenant's queued jobs; `settled` when none is queued or running any more. */
export async function cancelQueued(data: TenantData): Promise<{ cancelled: number; settled: boolean }> {
  let cancelled = 0;
  const queued = await data.jobs.list({ status: 'queued', limit: 1000 });
  for (const job of queued.items) {
    try {
      await data.jobs.update(
        nextVersion(job, { status: 'cancelled', finishedAt: new Date().toISOString() }),
        job.version,
      );
      cancelled++;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  const running = await data.jobs.list({ status: 'running', limit: 1 });
  return { cancelled, settled: running.items.length === 0 && !queued.nextCursor };
}

/** The export zip: `tenant.json` (without keys and webhook secret), `jobs/{id}.json`, `objects/{key}`. */
export async function exportTenant(
  tenant: Tenant,
  data: TenantData,
): Promise<{ zip: Uint8Array; jobs: JobRecord[]; objects: number }> {
  const jobs = await allJobs(data);
  const objects = await allObjects(data);
  const files: Record<string, Uint8Array> = {};
  const { apiKeys: _keys, config, ...publicTenant } = tenant;
  const { webhook: _webhook, ...publicConfig } = config;
  files['tenant.json'] = strToU8(JSON.stringify({ ...publicTenant, config: publicConfig }, null, 2));
  for (const job of jobs) files[`jobs/${job.id}.json`] = strToU8(JSON.stringify(job, null, 2));
  for (const object of objects) {
    const stored = await data.objects.get(object.key);
    if (stored) files[`objects/${object.key}`] = stored.body;
  }
  return { zip: zipSync(files, { level: 6 }), jobs, objects: objects.length };
}

/**
 * Deletes everything of the tenant: its record first (handlers then drop its messages and the host
 * stops its functions), then its dedicated resources or its data in the shared stores, then the traces
 * only the eraser can find. Idempotent: every part tolerates what an earlier attempt already removed.
 */
export async function eraseTenant(
  deps: OffboardDeps,
  tenant: Pick<Tenant, 'id' | 'placement'>,
  jobs?: JobRecord[],
): Promise<void> {
  const tenantId = tenant.id;
  await deps.directory.delete(tenantId);
  await deps.onRoutingChange?.();
  const data = dataOf(deps, tenant);
  const known = jobs ?? (tenant.placement === 'shared' ? await allJobs(data) : []);
  if (tenant.placement === 'dedicated') {
    await infrastructureOf(deps).remove(tenantId);
  } else {
    for (const job of known) {
      if (job.idempotencyKey !== undefined) await data.jobs.deleteIdempotencyKey(job.idempotencyKey);
      await data.jobs.delete(job.id);
    }
    for (const object of await allObjects(data)) await data.objects.delete(object.key);
  }
  await deps.eraser?.eraseJobItems(tenantId);
  await deps.eraser?.eraseQueueTraces(
    tenantId,
    known.map((j) => j.id),
  );
  await deps.eraser?.eraseObjectRoot(tenantId);
}

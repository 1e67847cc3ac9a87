import { strToU8, zipSync } from 'fflate';
import { ConditionFailedError, ConflictError, NotFoundError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { nextVersion } from '../ports/job-store.ts';
import type { OperationStore, TenantEraser } from '../ports/operation-store.ts';
import { tenantDataAt } from '../ports/stores.ts';
import { allJobs, allObjects } from './placement-move.ts';
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
 */
export async function offboardTenant(deps: OffboardDeps, rawId: string): Promise<OffboardResult> {
  const tenantId = parseTenantId(rawId, '/params/id');
  let tenant = await deps.directory.get(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
  if (tenant.move)
    throw new ConflictError(
      `Tenant ${tenantId} is moving; offboard it when the move is done.`,
      'move_in_progress',
    );
  if (tenant.status !== 'offboarding') {
    tenant = await deps.directory.update(
      { ...tenant, status: 'offboarding', version: tenant.version + 1, updatedAt: new Date().toISOString() },
      tenant.version,
    );
  }
  const data = tenantDataAt(deps.stores, laneForPlacement(tenantId, tenant.placement, '').store, tenantId);

  let cancelled = 0;
  const deadline = Date.now() + (deps.waitForRunningMs ?? 60_000);
  for (;;) {
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
    if (running.items.length === 0 && !queued.nextCursor) break;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }

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
  const zip = zipSync(files, { level: 6 });

  // The record goes first: handlers then drop the tenant's messages and the host stops its functions.
  await deps.directory.delete(tenantId);
  await deps.onRoutingChange?.();
  if (tenant.placement === 'dedicated') {
    await infrastructureOf(deps).remove(tenantId);
  } else {
    for (const job of jobs) {
      if (job.idempotencyKey !== undefined) await data.jobs.deleteIdempotencyKey(job.idempotencyKey);
      await data.jobs.delete(job.id);
    }
    for (const object of objects) await data.objects.delete(object.key);
  }
  await deps.eraser?.eraseJobItems(tenantId);
  await deps.eraser?.eraseQueueTraces(
    tenantId,
    jobs.map((j) => j.id),
  );
  await deps.eraser?.eraseObjectRoot(tenantId);
  await deps.operations.deleteByTenant(tenantId);
  return {
    tenantId,
    placement: tenant.placement,
    jobs: jobs.length,
    cancelled,
    objects: objects.length,
    zip,
  };
}

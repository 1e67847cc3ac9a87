import { strToU8, zipSync } from 'fflate';
import { ConditionFailedError, ConflictError, NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { jobForTenant } from '../core/tenant-view.ts';
import { exportedUserSettings, USER_SETTINGS_PREFIX } from '../functions/notification-preferences.ts';
import { nextVersion } from '../ports/job-store.ts';
import type { OperationStore, TenantEraser } from '../ports/operation-store.ts';
import { type TenantData, tenantDataAt } from '../ports/stores.ts';
import { retryOnConflict } from './conflicts.ts';
import { allJobs, allObjects } from './move-data.ts';
import type { ControlDeps } from './tenants.ts';

/**
 * The parts of an offboarding: stopping the tenant, cancelling its queued jobs, its export. The operation
 * that runs them and the removal after (`offboard-operation.ts`, `offboard-erase.ts`) build on these.
 *
 * What an offboarding needs: the control plane's ports, the operation store and the eraser.
 */
export interface OffboardDeps extends ControlDeps {
  operations: OperationStore;
  eraser?: TenantEraser;
  /** After the tenant is marked `offboarding` and after its record is gone: the host stops its dedicated functions. */
  onRoutingChange?(): Promise<void>;
  /** How long (from the operation's start) to wait for running jobs to finish before exporting. */
  waitForRunningMs?: number;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

/**
 * Marks the tenant `offboarding` (idempotent; retried when another write to the tenant won): its
 * credentials stop resolving, its dedicated functions stop, nothing new starts.
 */
export async function beginOffboarding(deps: OffboardDeps, tenantId: TenantId): Promise<Tenant> {
  return retryOnConflict(async () => {
    const tenant = await deps.directory.get(tenantId);
    if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
    if (tenant.move)
      throw new ConflictError(
        `Tenant ${tenantId} is moving; offboard it when the move is done.`,
        'move_in_progress',
      );
    if (tenant.status === 'offboarding') return tenant;
    return deps.directory.update(
      {
        ...tenant,
        status: 'offboarding',
        version: tenant.version + 1,
        updatedAt: new Date().toISOString(),
      },
      tenant.version,
    );
  }, 6);
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
  // The export goes to the tenant: each record as the tenant may see it, never operators' internals.
  for (const job of jobs) files[`jobs/${job.id}.json`] = strToU8(JSON.stringify(jobForTenant(job), null, 2));
  for (const object of objects) {
    const stored = await data.objects.get(object.key);
    // Users' notification settings as the API shows them: no code hashes, no push endpoints or keys.
    const body =
      stored && object.key.startsWith(USER_SETTINGS_PREFIX)
        ? exportedUserSettings(stored.body)
        : stored?.body;
    if (body) files[`objects/${object.key}`] = body;
  }
  return { zip: zipSync(files, { level: 6 }), jobs, objects: objects.length };
}

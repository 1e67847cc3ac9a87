import { parseTenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import type { Placement } from '../core/tenant.ts';
import type { Operation } from '../ports/operation-store.ts';
import { StoppedError } from '../ports/tenant-infrastructure.ts';
import {
  beginOffboarding,
  cancelQueued,
  dataOf,
  eraseTenant,
  exportTenant,
  type OffboardDeps,
} from './offboard.ts';
import { changeOperation, newOperation, progressOf, setStep } from './operations.ts';

export const OFFBOARD_STEPS = [
  'stop new work and cancel queued jobs',
  'let running jobs finish',
  'export jobs and artifacts',
  'remove everything of the tenant',
] as const;
const [STOP, WAIT, EXPORT, ERASE] = [0, 1, 2, 3];

/** Where an offboarding's export is kept: the shared store, outside every tenant's prefix. */
export function exportKey(op: Pick<Operation, 'id' | 'tenantId'>): string {
  return `exports/${op.tenantId}/${op.id}.zip`;
}

/** Checks the tenant can be offboarded, marks it `offboarding`, and records the operation. */
export async function newOffboardOperation(deps: OffboardDeps, rawId: string): Promise<Operation> {
  const tenant = await beginOffboarding(deps, parseTenantId(rawId, '/params/id'));
  const running = (await deps.operations.listByTenant(tenant.id)).find(
    (op) => op.kind === 'offboard' && op.status === 'running',
  );
  if (running) return running;
  const op = newOperation('offboard', tenant.id, [...OFFBOARD_STEPS], { placement: tenant.placement });
  await deps.operations.create(op);
  return op;
}

/**
 * Offboarding as an operation, for where it outlasts a request (a tenant's stack takes minutes to
 * delete; API Gateway answers within 30 s): the same steps as `offboardTenant`, each persisted before
 * the next, the export stored in the shared store (`exportKey`) for `GET …/operations/{id}/export`.
 * Resumable: a step that ran is skipped, and removal tolerates what an earlier attempt already removed.
 */
export async function driveOffboard(deps: OffboardDeps, op: Operation, signal: AbortSignal): Promise<void> {
  const done = (i: number) => op.steps[i]?.status === 'done';
  const placement = op.params.placement as Placement;
  const data = dataOf(deps, { id: op.tenantId, placement });
  let jobs: JobRecord[] | undefined;

  if (!done(STOP)) {
    const tenant = await deps.directory.get(op.tenantId);
    if (tenant) await beginOffboarding(deps, tenant.id);
    const { cancelled } = await cancelQueued(data);
    await setStep(deps.operations, op.id, STOP, 'done', `${cancelled} queued jobs cancelled`);
  }
  if (!done(WAIT)) {
    const deadline = Date.parse(op.createdAt) + (deps.waitForRunningMs ?? 60_000);
    for (;;) {
      if (signal.aborted) throw new StoppedError('The offboarding paused; it resumes.');
      const round = await cancelQueued(data);
      if (round.settled) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await setStep(deps.operations, op.id, WAIT, 'done', 'no job of the tenant is running');
  }
  if (!done(EXPORT)) {
    const tenant = await deps.directory.get(op.tenantId);
    if (!tenant) throw new Error(`Tenant ${op.tenantId} disappeared before its export.`);
    const exported = await exportTenant(tenant, data);
    jobs = exported.jobs;
    await deps.stores.objects({ kind: 'shared' }).put(exportKey(op), exported.zip, 'application/zip');
    await changeOperation(deps.operations, op.id, (current) => ({
      ...current,
      params: { ...current.params, export: exportKey(op), exportBytes: String(exported.zip.byteLength) },
    }));
    await setStep(
      deps.operations,
      op.id,
      EXPORT,
      'done',
      `${exported.jobs.length} jobs and ${exported.objects} objects, ${exported.zip.byteLength} bytes`,
    );
  }
  if (!done(ERASE)) {
    await eraseTenant(deps, { id: op.tenantId, placement }, jobs);
    await deps.operations.deleteByTenant(op.tenantId, op.id);
    await setStep(deps.operations, op.id, ERASE, 'done', 'nothing of the tenant is left');
  }
  await changeOperation(deps.operations, op.id, (current) => ({
    ...current,
    status: 'succeeded',
    progress: progressOf(current.steps.map((s) => ({ ...s, status: 'done' }))),
  }));
}

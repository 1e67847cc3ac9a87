import { functionSettingsFor } from '../core/tenant.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { StoppedError } from '../ports/tenant-infrastructure.ts';
import { finishOperation, setStep } from './operations.ts';
import { type ControlDeps, infrastructureOf } from './tenants.ts';

export const APPLY_STEPS = ["apply the tenant's function settings to its dedicated resources"] as const;

/** Redeploys at most this often in one run when settings keep changing under it. */
const MAX_ROUNDS = 3;

export interface ApplyDeps extends ControlDeps {
  operations: OperationStore;
}

/**
 * Applies a dedicated tenant's function settings (reserved concurrency, memory, timeout) to its own
 * resources. On AWS that is an UpdateStack of its stack, minutes long, so it runs as an operation the
 * control function drives and resumes like a move; locally the settings apply at the function's next
 * start and there is nothing to do. Deploy is idempotent (it updates only when a parameter changed), so
 * resuming after a stop or a crash simply deploys again.
 */
export async function driveApply(deps: ApplyDeps, op: Operation, signal: AbortSignal): Promise<void> {
  const finish = (status: 'succeeded' | 'failed', error?: Operation['error']) =>
    finishOperation(deps.operations, op.id, status, error);
  let detail = '';
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const tenant = await deps.directory.get(op.tenantId);
    if (tenant?.placement !== 'dedicated' || tenant.move) {
      // A move deploys (or removes) the dedicated resources with the settings current at that time.
      await setStep(deps.operations, op.id, 0, 'done', 'nothing to apply: the tenant is not dedicated now');
      await finish('succeeded');
      return;
    }
    const wanted = JSON.stringify(functionSettingsFor(tenant));
    try {
      detail = await infrastructureOf(deps).deploy(tenant, {
        signal,
        report: async (d) => {
          await setStep(deps.operations, op.id, 0, 'running', d);
        },
      });
    } catch (error) {
      if (error instanceof StoppedError || signal.aborted) throw error;
      const message = String((error as Error)?.message ?? error);
      // A failed update rolls back: the resources keep serving with the settings they had.
      await setStep(deps.operations, op.id, 0, 'failed', message);
      await finish('failed', { code: 'apply_failed', message });
      return;
    }
    const now = await deps.directory.get(op.tenantId);
    if (!now || JSON.stringify(functionSettingsFor(now)) === wanted) break;
  }
  await setStep(deps.operations, op.id, 0, 'done', detail);
  await finish('succeeded');
}

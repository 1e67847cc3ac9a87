import type { Tenant } from '../core/tenant.ts';
import type { OnboardMoving } from '../ports/control-hooks.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { MOVE_STEPS, type MoveDeps } from './move-steps.ts';
import { finishOperation, newOperation } from './operations.ts';

/**
 * Onboarding a tenant promoted at once (`OnboardMoving`): its promotion's operation is written first, then
 * `create` writes the tenant with that move on it, then `launch` drives the move like any other.
 */
export function onboardMoving(operations: OperationStore, launch: (id: string) => void): OnboardMoving {
  return async (tenantId, create) => {
    const op = newOperation('move', tenantId, [...MOVE_STEPS], {
      from: 'shared',
      to: 'dedicated',
      onboarding: 'true',
    });
    await operations.create(op);
    const created = await create({
      operationId: op.id,
      from: 'shared',
      to: 'dedicated',
      phase: 'provisioning',
    }).catch(async (error: unknown) => {
      // Refused (the id is taken, a setting is invalid): nothing was created, nothing is left running.
      await finishOperation(operations, op.id, 'failed', {
        code: 'onboarding_refused',
        message: String((error as Error)?.message ?? error),
      });
      throw error;
    });
    launch(op.id);
    return { created, operation: op };
  };
}

/** Whether a move's operation is an onboarding's (`onboardMoving`), whose tenant is born with the move. */
export function isOnboarding(op: Operation): boolean {
  return op.params.onboarding === 'true';
}

/** How an onboarding's move ends when its tenant never appeared (`tenantToMove` answered none). */
export const ONBOARDING_STOPPED: NonNullable<Operation['error']> = {
  code: 'onboarding_stopped',
  message: 'The onboarding stopped before the tenant was created; nothing of it exists. Onboard it again.',
};

/**
 * The tenant a move's operation moves, or undefined when there is none. An onboarding's operation is written
 * just before its tenant: one found without it may be a moment early (driven elsewhere), or its onboarding
 * stopped in between, and nothing of it exists. So for an onboarding it waits (with `sleep`, which throws
 * when the runner stops) until `onboardingGraceMs` (default 30 s) after the operation was created.
 */
export async function tenantToMove(
  deps: Pick<MoveDeps, 'directory' | 'onboardingGraceMs'>,
  op: Operation,
  sleep: (ms: number) => Promise<void>,
): Promise<Tenant | undefined> {
  let tenant = await deps.directory.get(op.tenantId);
  const onboardingGraceMs = deps.onboardingGraceMs ?? 30_000;
  for (
    let left = Date.parse(op.createdAt) + onboardingGraceMs - Date.now();
    !tenant && isOnboarding(op) && left > 0;
    left = Date.parse(op.createdAt) + onboardingGraceMs - Date.now()
  ) {
    await sleep(Math.min(left, 1000));
    tenant = await deps.directory.get(op.tenantId);
  }
  return tenant;
}

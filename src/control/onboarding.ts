import { incarnationOf, type Tenant } from '../core/tenant.ts';
import type { OnboardDedicated, OnboardMoving } from '../ports/control-hooks.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { MOVE_STEPS, type MoveDeps } from './move-steps.ts';
import { changeOperation, finishOperation, newOperation, setStep } from './operations.ts';
import { type ControlDeps, infrastructureOf } from './tenants.ts';

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

/** A dedicated onboarding's steps (an `onboard` operation): its lanes, then its record. */
export const ONBOARD_STEPS = ['provision dedicated lanes', 'write the tenant record'] as const;

/** What settling an onboarding reads and removes. */
export type OnboardDeps = ControlDeps & { operations: OperationStore; onboardingGraceMs?: number };

/** How an onboarding ends whose process stopped between its lanes and its record. */
export const ONBOARDING_CUT_SHORT: NonNullable<Operation['error']> = {
  code: 'onboarding_stopped',
  message:
    'The onboarding stopped before the tenant was written; its dedicated lanes were removed and nothing of it exists. Onboard it again.',
};

/**
 * `OnboardDedicated`: records the onboarding (an `onboard` operation naming the tenant's incarnation), runs
 * `provisionAndCreate`, and ends the operation. Refused or failed, it is settled at once (`settleOnboarding`:
 * lanes made for a tenant that was never written are removed) and the error is thrown on.
 */
export function recordOnboarding(deps: OnboardDeps): OnboardDedicated {
  return async (tenant, provisionAndCreate) => {
    const op = newOperation('onboard', tenant.id, [...ONBOARD_STEPS], {
      to: 'dedicated',
      incarnation: incarnationOf(tenant),
    });
    await deps.operations.create(op);
    try {
      await provisionAndCreate();
    } catch (error) {
      await settleOnboarding(deps, op, {
        code: 'onboarding_refused',
        message: String((error as Error)?.message ?? error),
      });
      throw error;
    }
    // The tenant is written and its key about to be answered: a failure to end the operation must not turn
    // that into an error. The operation stays running and the next reconciliation ends it `succeeded`.
    await settleOnboarding(deps, op, ONBOARDING_CUT_SHORT).catch(() => undefined);
  };
}

/**
 * Ends an onboarding's operation from what exists: its tenant written (the same incarnation) → `succeeded`;
 * another tenant of the id → `failed` (`superseded`), nothing touched (the lanes are that tenant's); no tenant
 * → its dedicated lanes are removed (idempotent: nothing made is fine) unless `keepLanes`, then `failed` with
 * `error`. Throws when the removal fails; the operation then stays running and is settled again later.
 */
export async function settleOnboarding(
  deps: OnboardDeps,
  op: Operation,
  error: NonNullable<Operation['error']>,
  keepLanes = false,
): Promise<Operation> {
  const tenant = await deps.directory.get(op.tenantId);
  if (tenant && incarnationOf(tenant) === op.params.incarnation) {
    return changeOperation(deps.operations, op.id, (current) => ({
      ...current,
      status: 'succeeded',
      progress: 1,
      steps: current.steps.map((s) => ({ ...s, status: 'done' })),
    }));
  }
  if (tenant) {
    return finishOperation(deps.operations, op.id, 'failed', {
      code: 'superseded',
      message: `Tenant ${op.tenantId} exists, created by another onboarding; this one left it as it is.`,
    });
  }
  if (!keepLanes) {
    const removed = await infrastructureOf(deps).remove(op.tenantId);
    await setStep(deps.operations, op.id, 0, 'failed', removed);
  }
  return finishOperation(deps.operations, op.id, 'failed', error);
}

/**
 * Settles an onboarding's operation found running: one left by a process that stopped between the tenant's
 * lanes and its record (killed, or its store failed). An operation younger than `onboardingGraceMs` (30 s)
 * may belong to a request still under way elsewhere (an API function), so it waits that long first, unless
 * `alone` (this process holds the stores alone and serves nothing yet: the embedded server before it listens).
 * A newer onboarding of the same id running keeps the lanes (they are its now).
 */
export async function driveOnboard(
  deps: OnboardDeps,
  op: Operation,
  sleep: (ms: number) => Promise<void>,
  alone = false,
): Promise<Operation> {
  const graceMs = deps.onboardingGraceMs ?? 30_000;
  for (
    let left = Date.parse(op.createdAt) + graceMs - Date.now();
    !alone && left > 0;
    left = Date.parse(op.createdAt) + graceMs - Date.now()
  )
    await sleep(Math.min(left, 1000));
  const newer = (await deps.operations.listByTenant(op.tenantId)).some(
    (o) => o.kind === 'onboard' && o.status === 'running' && o.id !== op.id && o.createdAt >= op.createdAt,
  );
  return settleOnboarding(deps, op, ONBOARDING_CUT_SHORT, newer);
}

import { ConflictError, NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { changeOperation, finishOperation, requireOperation, setStep } from './operations.ts';
import { applyRelease, incarnationsOf, redriveWave } from './rollout-waves.ts';
import type { ControlDeps } from './tenants.ts';

/** What halting an upgrade needs (a part of the runner's `RolloutDeps`). */
export interface RolloutHaltDeps extends ControlDeps {
  operations: OperationStore;
  /** Called after tenants' releases change (the local host replaces their function processes at once). */
  onReleaseChange?(): Promise<void>;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

/**
 * Restores the wave's previous releases, redrives what it dead-lettered, and halts the operation: by
 * default as an unhealthy wave (`rolled_back`); `ending` for an abort or a failure that stops it.
 */
export async function rollBackWave(
  deps: RolloutHaltDeps,
  id: string,
  index: number,
  wave: TenantId[],
  reason: string,
  ending?: { code: string; message: string },
): Promise<void> {
  const log = deps.log ?? (() => undefined);
  const op = await requireOperation(deps.operations, id);
  const previous = JSON.parse(op.params.previous ?? '{}') as Record<string, string>;
  const why = ending ? reason : `unhealthy, ${reason}`;
  await setStep(deps.operations, id, index, 'running', `rolling back: ${why}`);
  await applyRelease(deps, wave, (tenantId) => previous[tenantId] ?? '', incarnationsOf(op));
  await deps.onReleaseChange?.();
  const { redriven, unredriven } = await redriveWave(deps, wave, (queue, error) =>
    log('error', 'redriving dead letters after a rollback failed', { operationId: id, queue, error }),
  );
  const failures = unredriven.length > 0 ? `; redrive failed for ${unredriven.join('; ')}` : '';
  await setStep(
    deps.operations,
    id,
    index,
    'failed',
    `rolled back to the previous release (${redriven} dead letters redriven${failures}): ${why}`,
  );
  await finishOperation(
    deps.operations,
    id,
    'failed',
    ending ?? {
      code: 'rolled_back',
      message: `Wave ${index + 1} was unhealthy and was rolled back; the upgrade halted: ${reason}`,
    },
  );
  log('warn', 'upgrade halted and rolled back', { operationId: id, wave: index + 1, reason });
}

/**
 * Ends a running upgrade `failed` with `code`: the wave in progress (begun, not done) is rolled back to
 * its tenants' previous releases; waves done stay on the release, which is not made current. Answers
 * false when the operation could not be written (the store failing: the caller drives it again).
 */
export async function haltRollout(
  deps: RolloutHaltDeps,
  id: string,
  code: 'aborted' | 'rollout_failed',
  message: string,
): Promise<boolean> {
  const log = deps.log ?? (() => undefined);
  try {
    const op = await requireOperation(deps.operations, id);
    if (op.status !== 'running') return true;
    let waves: TenantId[][] = [];
    try {
      waves = JSON.parse(op.params.waves ?? '[]') as TenantId[][];
    } catch {
      // A damaged record: nothing to roll back by; it ends with the message that says so.
    }
    const index = waves.findIndex(
      (_, i) => op.steps[i]?.status !== 'done' && op.params[`wave${i}.start`] !== undefined,
    );
    const done = waves.filter((_, i) => op.steps[i]?.status === 'done').length;
    const kept =
      done > 0 ? ` ${done} wave${done === 1 ? '' : 's'} before it stay on ${op.params.release}.` : '';
    const rolled = index >= 0 ? ` Wave ${index + 1} was rolled back to its previous release.` : '';
    const ending = { code, message: `${message}${rolled}${kept}` };
    log('error', 'upgrade stopped', { operationId: id, code, message });
    if (index >= 0) {
      try {
        await rollBackWave(deps, id, index, waves[index]!, message, ending);
        return true;
      } catch (error) {
        ending.message = `${message} Rolling wave ${index + 1} back failed too (${String(error)}): its tenants may run either release.${kept}`;
      }
    }
    await finishOperation(deps.operations, id, 'failed', ending);
    return true;
  } catch (error) {
    log('error', 'stopping the upgrade failed; driving it again', {
      operationId: id,
      error: String(error),
    });
    return false;
  }
}

/**
 * Records an operator's abort of a running upgrade in its operation (`params.abort`, `abortedAt`); the
 * process driving it carries it out at its next check (`stopAborted`). Answers the operation as marked.
 * @throws NotFoundError for no such upgrade; ConflictError `rollout_ended` for one that has ended, or that
 * has rolled out every wave and claimed making its release current (`params.finishing`)
 */
export async function markAborted(
  operations: OperationStore,
  id: string,
  reason: string,
): Promise<Operation> {
  const op = await operations.get(id);
  if (op?.kind !== 'rollout') throw new NotFoundError(`Upgrade "${id}"`);
  if (op.status !== 'running') {
    throw new ConflictError(
      `The upgrade ${id} has ended (${op.status}); there is nothing to abort.`,
      'rollout_ended',
    );
  }
  const marked = await changeOperation(operations, id, (o) =>
    o.status !== 'running' || o.params.abort !== undefined || o.params.finishing !== undefined
      ? o
      : { ...o, params: { ...o.params, abort: reason, abortedAt: new Date().toISOString() } },
  );
  // Ended meanwhile, or past every wave and making its release current: nothing an abort would stop
  // (a 202 here was followed by the upgrade's success).
  if (marked.status !== 'running' || marked.params.abort === undefined) {
    throw new ConflictError(
      marked.status !== 'running'
        ? `The upgrade ${id} has ended (${marked.status}); there is nothing to abort.`
        : `The upgrade ${id} has rolled out every wave and is making ${String(marked.params.release)} current; it can no longer be aborted (start another upgrade to go back).`,
      'rollout_ended',
    );
  }
  return marked;
}

/** Carries out an abort; throws when the operation could not be written, so it is driven (and stopped) again. */
export async function stopAborted(deps: RolloutHaltDeps, op: Operation): Promise<void> {
  if (!(await haltRollout(deps, op.id, 'aborted', abortMessage(op))))
    throw new Error(`Stopping the aborted upgrade ${op.id} failed.`);
}

function abortMessage(op: Operation): string {
  return `Aborted${op.params.abortedAt ? ` at ${op.params.abortedAt}` : ''}: ${op.params.abort}.`;
}

import { ConflictError, NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { changeOperation, finishOperation, requireOperation, setStep } from './operations.ts';
import { tenantList } from './rollout-evidence.ts';
import {
  applyRelease,
  incarnationsOf,
  movingTenants,
  publishedReleases,
  redriveWave,
} from './rollout-waves.ts';
import type { ControlDeps } from './tenants.ts';

/** What halting an upgrade needs (a part of the runner's `RolloutDeps`). */
export interface RolloutHaltDeps extends ControlDeps {
  operations: OperationStore;
  /** Where the releases a rollback restores are, and whether the upgrade's own is still there. */
  catalog: ReleaseCatalog;
  /** Called after tenants' releases change (the local host replaces their function processes at once). */
  onReleaseChange?(): Promise<void>;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  /** How often a rollback waiting for a tenant's move looks again (ms; default 500). */
  pollMs?: number;
  /** Whether the runner is stopping: a rollback waiting for a move stops too (the next driver finishes it). */
  stopped?(): boolean;
}

/**
 * Whether an upgrade is to halt, by what its operation records (each cause is written before anything is
 * rolled back, so a driver that resumes it after a crash finishes the same halt and ends with the same
 * cause): an operator's abort (`abort`, `abortedAt`), a failure no retry mends (`failed`: its message), a
 * wave found unhealthy (`wave{i}.rollback`: what was wrong).
 */
export function haltRecorded(op: Operation): boolean {
  return op.params.abort !== undefined || op.params.failed !== undefined || unhealthyWave(op) !== undefined;
}

/** The index of the wave recorded unhealthy (`wave{i}.rollback`), if one is. */
function unhealthyWave(op: Operation): number | undefined {
  for (const key of Object.keys(op.params)) {
    const match = /^wave(\d+)\.rollback$/.exec(key);
    if (match) return Number(match[1]);
  }
  return undefined;
}

/**
 * Carries out the halt recorded in the operation (`haltRecorded`): the wave in progress (begun, not done) is
 * rolled back to its tenants' previous releases and what it dead-lettered redriven; waves done stay on the
 * release, which is not made current. The operation then ends `failed` with an ending made from every cause
 * recorded when it is written (`haltEnding`): an abort that arrived during the rollback is in it. A rollback
 * that fails ends the operation saying so when an abort or a failure was recorded; for an unhealthy wave
 * alone it throws, and the upgrade is driven (and rolled back) again.
 */
export async function settleHalt(deps: RolloutHaltDeps, id: string): Promise<void> {
  const log = deps.log ?? (() => undefined);
  const op = await requireOperation(deps.operations, id);
  if (op.status !== 'running') return;
  let waves: TenantId[][] = [];
  try {
    waves = JSON.parse(op.params.waves ?? '[]') as TenantId[][];
  } catch {
    // A damaged record: nothing to roll back by; it ends with the message that says so.
  }
  const index = waves.findIndex(
    (_, i) => op.steps[i]?.status !== 'done' && op.params[`wave${i}.start`] !== undefined,
  );
  let rollbackError: string | undefined;
  const done = waves.flatMap((wave, i) => (op.steps[i]?.status === 'done' ? [wave] : []));
  if (index >= 0 || done.length > 0) {
    try {
      const published = await publishedReleases(deps.catalog);
      if (index >= 0) await rollBackWave(deps, op, index, waves[index]!, published);
      // A release withdrawn (its folder removed) is kept by no tenant: the waves done go back too, or they
      // showed a release that no longer exists while running the current one.
      if (done.length > 0 && !published.has(op.params.release ?? '')) {
        await applyRelease(deps, done.flat(), restoreFrom(op, published), incarnationsOf(op));
        await deps.onReleaseChange?.();
        await changeOperation(deps.operations, id, (o) => ({
          ...o,
          params: { ...o.params, withdrawnFromDone: String(done.length) },
        }));
      }
    } catch (error) {
      const now = await requireOperation(deps.operations, id);
      // Stopped while waiting for a move: not a failed rollback, the next driver goes on with it.
      if (deps.stopped?.() || (now.params.abort === undefined && now.params.failed === undefined))
        throw error;
      rollbackError = String(error);
    }
  }
  const ended = await finishOperation(deps.operations, id, 'failed', (o) =>
    haltEnding(o, index, rollbackError),
  );
  log('warn', 'upgrade halted', { operationId: id, wave: index + 1, ...ended.error });
}

/** Restores the wave's previous releases and redrives what it dead-lettered; its step says why. */
async function rollBackWave(
  deps: RolloutHaltDeps,
  op: Operation,
  index: number,
  wave: TenantId[],
  published: ReadonlySet<string>,
): Promise<void> {
  const log = deps.log ?? (() => undefined);
  const unhealthy = op.params[`wave${index}.rollback`];
  const why =
    unhealthy !== undefined
      ? `unhealthy, ${unhealthy}`
      : (op.params.failed ?? (op.params.abort !== undefined ? abortMessage(op) : 'halted'));
  await setStep(deps.operations, op.id, index, 'running', `rolling back: ${why}`);
  const restore = restoreFrom(op, published);
  await applyRelease(deps, wave, restore, incarnationsOf(op));
  await deps.onReleaseChange?.();
  // `applyRelease` skips a tenant mid-move, and a demotion that rolls back keeps it dedicated: on the release
  // every other tenant was just taken off. The others are rolled back at once; it is once its move has ended.
  let waited = false;
  for (;;) {
    const moving = await movingTenants(deps, wave, incarnationsOf(op));
    if (moving.length === 0) break;
    if (deps.stopped?.()) throw new Error('The upgrade runner stopped.');
    waited = true;
    await setStep(
      deps.operations,
      op.id,
      index,
      'running',
      `rolling back: ${why}; waiting for the move of ${tenantList(moving)} to end`,
    );
    await new Promise((resolve) => setTimeout(resolve, deps.pollMs ?? 500));
  }
  if (waited) {
    await applyRelease(deps, wave, restore, incarnationsOf(op));
    await deps.onReleaseChange?.();
  }
  const { redriven, unredriven } = await redriveWave(deps, wave, (queue, error) =>
    log('error', 'redriving dead letters after a rollback failed', { operationId: op.id, queue, error }),
  );
  const failures = unredriven.length > 0 ? `; redrive failed for ${unredriven.join('; ')}` : '';
  await setStep(
    deps.operations,
    op.id,
    index,
    'failed',
    `rolled back to the previous release (${redriven} dead letters redriven${failures}): ${why}`,
  );
}

/**
 * Each tenant's release before the upgrade (`params.previous`), or none (the current release) where that one
 * is no longer published: restored, a withdrawn release showed on the tenant while it ran the current one.
 */
function restoreFrom(op: Operation, published: ReadonlySet<string>): (tenantId: TenantId) => string {
  const previous = JSON.parse(op.params.previous ?? '{}') as Record<string, string>;
  return (tenantId) => {
    const release = previous[tenantId] ?? '';
    return release !== '' && published.has(release) ? release : '';
  };
}

/**
 * An upgrade's halt ending, from the causes recorded in `op`: code `aborted` when an operator aborted it
 * (whatever else happened: they were told it would end so), else `rollout_failed` for a failure no retry
 * mends, else `rolled_back` for an unhealthy wave. The message says every cause recorded, then what became
 * of wave `index` (the one in progress, -1 for none) and of the waves done.
 */
export function haltEnding(
  op: Operation,
  index: number,
  rollbackError?: string,
): NonNullable<Operation['error']> {
  const unhealthyIndex = unhealthyWave(op);
  const unhealthy = unhealthyIndex !== undefined ? op.params[`wave${unhealthyIndex}.rollback`] : undefined;
  const code =
    op.params.abort !== undefined
      ? 'aborted'
      : op.params.failed !== undefined
        ? 'rollout_failed'
        : 'rolled_back';
  if (code === 'rolled_back' && index >= 0 && rollbackError === undefined) {
    return {
      code,
      message: `Wave ${index + 1} was unhealthy and was rolled back; the upgrade halted: ${unhealthy}`,
    };
  }
  const causes: string[] = [];
  if (op.params.abort !== undefined) causes.push(abortMessage(op));
  if (op.params.failed !== undefined) causes.push(op.params.failed);
  let waves: unknown[] = [];
  try {
    waves = JSON.parse(op.params.waves ?? '[]') as unknown[];
  } catch {
    // A damaged record: no wave to name.
  }
  const done = waves.filter((_, i) => op.steps[i]?.status === 'done').length;
  const doneWaves = `${done} wave${done === 1 ? '' : 's'} before it`;
  const kept =
    done === 0
      ? ''
      : op.params.withdrawnFromDone !== undefined
        ? ` ${doneWaves}, on ${op.params.release} withdrawn, went back to ${done === 1 ? 'its' : 'their'} previous release too.`
        : ` ${doneWaves} stay on ${op.params.release}.`;
  const found = index >= 0 && unhealthy !== undefined ? ` was found unhealthy (${unhealthy}) and` : '';
  const rolled =
    index < 0
      ? ''
      : rollbackError === undefined
        ? ` Wave ${index + 1}${found} was rolled back to its previous release.`
        : `${found ? ` Wave ${index + 1} was found unhealthy (${unhealthy}); rolling it` : ` Rolling wave ${index + 1}`} back failed too (${rollbackError}): its tenants may run either release.`;
  return { code, message: `${causes.join(' ')}${rolled}${kept}` };
}

/**
 * Records a failure no retry mends (`params.failed`, `message`) in a running upgrade, then carries out its
 * halt (`settleHalt`): recorded first, a process that dies during the rollback leaves it for the next driver
 * to finish, ending with this cause. Without `failure` (an abort, already recorded) it only carries it out.
 * Answers false when the operation could not be written (the store failing: the caller drives it again).
 */
export async function haltRollout(deps: RolloutHaltDeps, id: string, failure?: string): Promise<boolean> {
  const log = deps.log ?? (() => undefined);
  try {
    if (failure !== undefined) {
      log('error', 'upgrade stopped', { operationId: id, code: 'rollout_failed', message: failure });
      // The first failure recorded stays: a later one is of the halt, not of the upgrade.
      await changeOperation(deps.operations, id, (o) =>
        o.status !== 'running' || o.params.failed !== undefined
          ? o
          : { ...o, params: { ...o.params, failed: failure } },
      );
    }
    await settleHalt(deps, id);
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
 * process driving it carries it out at its next check (`settleHalt`). Answers the operation as marked.
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

function abortMessage(op: Operation): string {
  return `Aborted${op.params.abortedAt ? ` at ${op.params.abortedAt}` : ''}: ${op.params.abort}.`;
}

import { backoffMs } from '../core/backoff.ts';
import type { TenantId } from '../core/ids.ts';
import { laneForPlacement, type StoreRef } from '../core/placement.ts';
import type { Placement } from '../core/tenant.ts';
import { StoppedError } from '../ports/tenant-infrastructure.ts';
import { removeOld } from './move-data.ts';
import { drain } from './move-drain.ts';
import {
  CLEANUP,
  COPY,
  DRAIN,
  MOVE_STEPS,
  type MoveDataSteps,
  type MoveDeps,
  PROVISION,
  SEND,
  SWITCH,
  VERIFY,
} from './move-steps.ts';
import { clearMove, setMove, setMovePhase, switchPlacement } from './move-tenant.ts';
import { isOnboarding, ONBOARDING_STOPPED, tenantToMove } from './onboarding.ts';
import { changeOperation, finishOperation, STEP_RETRY, setStep } from './operations.ts';
import { infrastructureOf, provisionPlacement } from './tenants.ts';

/** What driving a move takes from the runner that drives it (`createMoveRunner`). */
export interface MoveRun {
  /** Aborts the waits inside steps (a grace period, a stack being created) when the runner stops. */
  signal: AbortSignal;
  /** Waits, unless the runner stops: then it throws, so a wait that protects a step never counts as done. */
  sleep(ms: number): Promise<void>;
  /** Whether the runner stopped: a step stopped is not a failure, it runs again when the move resumes. */
  stopped(): boolean;
  /** Where the move's copy, verify and removal of shared data run. */
  data: MoveDataSteps;
  /** Throws LeaseLostError once another process holds the operation (`drivingLease`): checked before each step. */
  checkHold(id: string): void;
}

/**
 * Promotion and demotion, as an operation whose every step is idempotent and whose state (the operation's
 * steps and `tenant.move.phase`, compare-and-set on tenant.version) is persisted before the step acts, so a
 * crash at any point resumes to the same end. Why it is safe:
 * - Routing changes once (phase `draining`): a new job's message goes to the target lane and its record to
 *   the target store, both from the same tenant snapshot; reads try the target, then the source.
 * - Old jobs finish in the old lane against the source store: each job's record lives in exactly one store.
 * - Only when the source has no job queued or running (drained) is it copied: it is frozen, so one copy
 *   plus a checksum verification is exact. Idempotency-Keys are written to both stores during the move.
 * - The switch (placement = target, move cleared) is one compare-and-set; the target already holds every
 *   record, so reads before and after it see the same data. Only then is the old place removed.
 *
 * Answers the function that drives a move's operation (by id) until it ends, or throws when the runner
 * stopped (it resumes where it stopped) or an error escaped its steps' retries (the runner drives it again).
 */
export function createMoveDriver(deps: MoveDeps, run: MoveRun): (id: string) => Promise<void> {
  const graceMs = deps.graceMs ?? 1000;
  const pollMs = deps.pollMs ?? 200;
  const log = deps.log ?? (() => undefined);
  const { signal, sleep, stopped, data, checkHold } = run;

  /** Runs a step until it succeeds: steps are idempotent, so a failure (or a crash) just runs it again. */
  async function step(
    id: string,
    index: number,
    act: (report: (detail: string, fraction?: number) => Promise<void>) => Promise<string | undefined>,
  ) {
    const report = async (detail: string, fraction?: number) => {
      await setStep(deps.operations, id, index, 'running', detail, fraction);
    };
    for (let attempt = 1; ; attempt++) {
      if (stopped()) throw new Error('The move runner stopped.');
      checkHold(id);
      await setStep(deps.operations, id, index, 'running');
      try {
        const detail = await act(report);
        await setStep(deps.operations, id, index, 'done', detail);
        return;
      } catch (error) {
        // Stopping is not a failure: the step runs again when the operation resumes.
        if (stopped()) throw error;
        log('warn', 'move step failed; retrying', {
          operationId: id,
          step: MOVE_STEPS[index],
          error: String(error),
        });
        await report(`attempt ${attempt} failed: ${String((error as Error)?.message ?? error)}; retrying`);
        await sleep(backoffMs(attempt, STEP_RETRY));
      }
    }
  }

  async function drive(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status !== 'running') return;
    checkHold(id);
    const from = op.params.from as Placement;
    const to = op.params.to as Placement;
    const tenantId = op.tenantId;
    const done = (i: number) => op.steps[i]?.status === 'done';
    // A provisioning failure recorded (by a process that died while rolling it back, or by this one before a
    // step of the rollback failed) is rolled back and ended with its cause, never provisioned again.
    if (op.params.failed !== undefined) return rollBackProvisioning(id, tenantId, to, op.params.failed);
    let tenant = await tenantToMove(deps, op, sleep);
    if (!tenant) {
      await finishOperation(
        deps.operations,
        id,
        'failed',
        isOnboarding(op)
          ? ONBOARDING_STOPPED
          : { code: 'tenant_gone', message: 'The tenant no longer exists.' },
      );
      return;
    }
    const switched = tenant.placement === to && tenant.move === undefined;
    if (!switched && tenant.move?.operationId !== id) {
      // Created, but the tenant never recorded this move (a crash in between, or another move won). An
      // onboarding's tenant is born with its move: one without it is another tenant of that id (the
      // onboarding was refused, or killed before its refusal was recorded), never to be promoted by it.
      if (tenant.move || tenant.placement !== from || isOnboarding(op)) {
        await finishOperation(deps.operations, id, 'failed', {
          code: 'superseded',
          message: 'The tenant changed before the move began.',
        });
        return;
      }
      tenant = await setMove(deps.directory, tenant, { operationId: id, from, to, phase: 'provisioning' });
    }
    const source: StoreRef = laneForPlacement(tenantId, from, '').store;
    const target: StoreRef = laneForPlacement(tenantId, to, '').store;

    if (!switched) {
      if (!done(PROVISION)) {
        try {
          const detail = await provisionPlacement(deps, tenant, to, {
            signal: signal,
            report: async (d) => {
              await setStep(deps.operations, id, PROVISION, 'running', d);
            },
          });
          await setStep(deps.operations, id, PROVISION, 'done', detail);
        } catch (error) {
          // Stopped while waiting (a restart, the end of a control function's run): resume later.
          if (error instanceof StoppedError || stopped()) throw error;
          // Nothing routes to the target yet: undo and report, rather than leave half-made lanes.
          await rollBackProvisioning(id, tenantId, to, error);
          return;
        }
      }
      if (!done(SEND)) {
        await step(id, SEND, async () => {
          await setMovePhase(deps.directory, tenantId, id, 'draining');
          await deps.onRoutingChange?.();
          // Requests that read the tenant before the change finish within the grace period.
          await sleep(graceMs);
          return `new jobs go to the ${to} lane and store`;
        });
      }
      if (!done(DRAIN))
        await step(id, DRAIN, (report) => drain(deps, tenantId, from, source, { report, sleep, pollMs }));
      for (let round = 1; ; round++) {
        if (!done(COPY) || round > 1) {
          await step(id, COPY, async (report) => {
            await setMovePhase(deps.directory, tenantId, id, 'copying');
            return data.copy(tenantId, source, target, report, signal);
          });
        }
        let problems: string[] = [];
        await step(id, VERIFY, async () => {
          await setMovePhase(deps.directory, tenantId, id, 'verifying');
          const result = await data.verify(tenantId, source, target, signal);
          problems = result.problems;
          return result.detail;
        });
        if (problems.length === 0) break;
        log('warn', 'move verification found differences; copying again', {
          operationId: id,
          problems: problems.slice(0, 5),
        });
        await setStep(
          deps.operations,
          id,
          VERIFY,
          'failed',
          `${problems.length} differences, copying again: ${problems.slice(0, 3).join('; ')}`,
        );
        await step(id, DRAIN, (report) => drain(deps, tenantId, from, source, { report, sleep, pollMs }));
      }
      await step(id, SWITCH, async () => {
        await switchPlacement(deps.directory, tenantId, to);
        await deps.onRoutingChange?.();
        return `reads and writes use the ${to} store`;
      });
    } else {
      for (const i of [PROVISION, SEND, DRAIN, COPY, VERIFY, SWITCH]) {
        if (!done(i)) await setStep(deps.operations, id, i, 'done');
      }
    }
    await step(id, CLEANUP, async (report) => {
      await sleep(graceMs);
      return removeOld(
        deps,
        tenantId,
        from,
        to,
        source,
        { signal: signal, report: (d) => report(d) },
        (id, ref) => data.removeShared(id, ref, signal),
      );
    });
    await finishOperation(deps.operations, id, 'succeeded');
    log('info', 'placement move finished', { operationId: id, tenantId, from, to });
  }

  /**
   * Undoes a provisioning that failed: its cause is recorded in the operation (`params.failed`; the first
   * one stays) before anything is undone, so a driver that resumes the move after a crash finishes this
   * rollback and ends with that cause. Recorded only after clearing the move, a crash in between left a
   * move that the next driver recorded on the tenant again and provisioned as if nothing had failed.
   */
  async function rollBackProvisioning(
    id: string,
    tenantId: TenantId,
    to: Placement,
    cause: unknown,
  ): Promise<void> {
    const recorded = await changeOperation(deps.operations, id, (o) =>
      o.status !== 'running' || o.params.failed !== undefined
        ? o
        : { ...o, params: { ...o.params, failed: String((cause as Error)?.message ?? cause) } },
    );
    if (recorded.status !== 'running') return;
    const message = recorded.params.failed as string;
    // A tenant gone meanwhile has no move to clear (its lanes are still removed below).
    if (await deps.directory.get(tenantId)) await clearMove(deps.directory, tenantId, id);
    if (to === 'dedicated') {
      await infrastructureOf(deps)
        .remove(tenantId)
        .catch((error: unknown) =>
          log('error', 'could not remove half-made dedicated resources', {
            operationId: id,
            tenantId,
            error: String(error),
          }),
        );
    }
    await setStep(deps.operations, id, PROVISION, 'failed', message);
    await finishOperation(deps.operations, id, 'failed', {
      code: 'provisioning_failed',
      message: `Rolled back: ${message}`,
    });
  }

  return drive;
}

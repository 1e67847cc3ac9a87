import { backoffMs } from '../core/backoff.ts';
import { ConditionFailedError, ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';
import { laneForPlacement, type StoreRef } from '../core/placement.ts';
import { checkRegion, REGION_PATTERN } from '../core/region.ts';
import type { Placement } from '../core/tenant.ts';
import type { OnboardMoving } from '../ports/control-hooks.ts';
import type { Operation } from '../ports/operation-store.ts';
import { StoppedError } from '../ports/tenant-infrastructure.ts';
import { APPLY_STEPS, driveApply } from './apply-settings.ts';
import { dedicatedPlacementProblem } from './lanes.ts';
import { copyAll, removeOld, removeSharedData, verify } from './move-data.ts';
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
import { driveOffboard, newOffboardOperation } from './offboard-operation.ts';
import { isOnboarding, ONBOARDING_STOPPED, onboardMoving, tenantToMove } from './onboarding.ts';
import { finishOperation, newOperation, STEP_RETRY, setStep } from './operations.ts';
import { infrastructureOf, provisionPlacement } from './tenants.ts';

export interface MoveRunner {
  /**
   * Starts moving a tenant; answers at once with the running operation. `region`: with `dedicated`, the
   * contract region the tenant's stack and data move to, recorded with the move in the one write that
   * starts it (never without one).
   */
  start(tenantId: string, to: Placement, options?: { region?: string }): Promise<Operation>;
  /** Onboards a tenant promoted at once (`OnboardMoving`): its promotion recorded before it exists. */
  onboard: OnboardMoving;
  /**
   * Applies a dedicated tenant's changed function settings to its resources when that takes an operation
   * (a stack update); answers the operation, or undefined when there is nothing to run.
   */
  applySettings(tenantId: TenantId): Promise<Operation | undefined>;
  /** Starts offboarding a tenant as an operation (see `driveOffboard`); answers at once with it. */
  offboard(tenantId: string): Promise<Operation>;
  /** Resumes every running operation (after a restart); answers how many are running here now. */
  resume(): Promise<number>;
  /** Resolves when no operation runs in this process. */
  idle(): Promise<void>;
  /** Resolves when the operation stops running in this process. */
  settled(id: string): Promise<void>;
  stop(): Promise<void>;
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
 */
export function createMoveRunner(deps: MoveDeps): MoveRunner {
  const graceMs = deps.graceMs ?? 1000;
  const pollMs = deps.pollMs ?? 200;
  const log = deps.log ?? (() => undefined);
  const data: MoveDataSteps = deps.dataSteps ?? {
    copy: (tenantId, source, target, report) => copyAll(deps, tenantId, source, target, report),
    verify: (tenantId, source, target) => verify(deps, tenantId, source, target),
    removeShared: (tenantId, source) => removeSharedData(deps, tenantId, source),
  };
  const active = new Map<string, Promise<void>>();
  let stopped = false;
  // Aborts the waits inside steps (a grace period, a stack being created) when the runner stops.
  const abort = new AbortController();

  /** Waits, unless the runner stops: then it throws, so a wait that protects a step never counts as done. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve, reject) => {
      if (abort.signal.aborted) return reject(new StoppedError('The move runner stopped.'));
      const timer = setTimeout(() => {
        abort.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new StoppedError('The move runner stopped.'));
      };
      abort.signal.addEventListener('abort', onAbort, { once: true });
    });

  /**
   * Drives an operation until it ends. Its steps retry inside; an error that escapes them (the operation
   * or tenant store failing for a moment) drives it again after a backoff, as the upgrade runner does:
   * otherwise it stayed `running` with nothing driving it, refusing the tenant's next move until a restart.
   */
  function launch(id: string, kind: Operation['kind'] = 'move'): void {
    if (active.has(id) || stopped || deps.drive === 'elsewhere') return;
    const once = () => (kind === 'apply' ? apply(id) : kind === 'offboard' ? offboard(id) : drive(id));
    const paused = () =>
      log('info', 'placement move paused; it resumes where it stopped', { operationId: id });
    const run = (async () => {
      for (let wait = deps.retryMs ?? 5000; ; wait = Math.min(wait * 2, 60_000)) {
        try {
          return await once();
        } catch (error) {
          if (stopped) return paused();
          log('error', 'placement operation failed; driving it again', {
            operationId: id,
            kind,
            error: String(error),
            retryInMs: wait,
          });
          // A stop during the wait ends it at once (sleep throws StoppedError).
          if (
            !(await sleep(wait).then(
              () => true,
              () => false,
            ))
          )
            return paused();
        }
      }
    })().finally(() => active.delete(id));
    active.set(id, run);
  }

  /** A region asked for with a move: only with a promotion, where this platform may choose one, a Region name. */
  function checkChosenRegion(region: string, to: Placement): void {
    if (to !== 'dedicated' || !deps.regions) {
      const message =
        to !== 'dedicated'
          ? 'is only for a promotion to dedicated placement'
          : 'cannot be chosen here: this platform deploys dedicated tenants in its own region only';
      throw new ValidationError([{ path: '/body/region', message, rule: 'region' }]);
    }
    if (!REGION_PATTERN.test(region)) {
      throw new ValidationError([
        { path: '/region', message: 'must be an AWS Region name like eu-central-1', rule: 'pattern' },
      ]);
    }
    checkRegion(region, 'dedicated', deps.regions);
  }

  async function start(rawId: string, to: Placement, options: { region?: string } = {}): Promise<Operation> {
    const tenantId = parseTenantId(rawId, '/params/id');
    if (to !== 'shared' && to !== 'dedicated') {
      throw new ValidationError([
        { path: '/placement', message: 'must be shared or dedicated', rule: 'enum' },
      ]);
    }
    const { region } = options;
    if (region !== undefined) checkChosenRegion(region, to);
    const tooLong = to === 'dedicated' ? dedicatedPlacementProblem(tenantId) : undefined;
    if (tooLong) throw new ValidationError([{ path: '/placement', message: tooLong, rule: 'length' }]);
    const tenant = await deps.directory.get(tenantId);
    if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
    const platformRegion = deps.regions?.region;
    // A region is recorded only with the move that honours it: recorded first (as it was, by a write of its
    // own), a move refused after it (an id too long for dedicated lanes, an offboarding, a race) left a shared
    // tenant with a contract region, and every submit of it refused (409 region_requires_dedicated).
    const newRegion =
      region !== undefined && (tenant.region ?? platformRegion) !== region ? region : undefined;
    if (deps.regions) checkRegion(newRegion ?? tenant.region, to, deps.regions);
    if (newRegion !== undefined && tenant.move) {
      throw new ConflictError(
        `Tenant ${tenantId}'s stack and data are in ${tenant.region ?? platformRegion}: its region cannot change while it is moving.`,
        'region_change_requires_move',
      );
    }
    if (tenant.move) {
      const running = await deps.operations.get(tenant.move.operationId);
      if (running && tenant.move.to === to) return running;
      throw new ConflictError(
        `Tenant ${tenantId} is already moving to ${tenant.move.to}.`,
        'move_in_progress',
      );
    }
    if (tenant.placement === to)
      throw new ConflictError(`Tenant ${tenantId} is already ${to}.`, 'already_placed');
    if (tenant.status === 'offboarding')
      throw new ConflictError(`Tenant ${tenantId} is being offboarded.`, 'offboarding');
    const op = newOperation('move', tenantId, [...MOVE_STEPS], { from: tenant.placement, to });
    await deps.operations.create(op);
    // The tenant records the move before anything acts on it; losing this race means another move started.
    try {
      await setMove(deps.directory, newRegion !== undefined ? { ...tenant, region: newRegion } : tenant, {
        operationId: op.id,
        from: tenant.placement,
        to,
        phase: 'provisioning',
      });
    } catch (error) {
      await finish(op.id, 'failed', {
        code: 'move_in_progress',
        message: 'Another change of the tenant won.',
      });
      if (error instanceof ConditionFailedError)
        throw new ConflictError('The tenant changed; try again.', 'tenant_changed');
      throw error;
    }
    launch(op.id);
    return op;
  }

  async function finish(
    id: string,
    status: 'succeeded' | 'failed',
    error?: Operation['error'],
  ): Promise<void> {
    await finishOperation(deps.operations, id, status, error);
  }

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
      if (stopped) throw new Error('The move runner stopped.');
      await setStep(deps.operations, id, index, 'running');
      try {
        const detail = await act(report);
        await setStep(deps.operations, id, index, 'done', detail);
        return;
      } catch (error) {
        // Stopping is not a failure: the step runs again when the operation resumes.
        if (stopped) throw error;
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

  async function offboard(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status === 'running') await driveOffboard(deps, op, abort.signal);
  }

  async function apply(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status === 'running') await driveApply(deps, op, abort.signal);
  }

  async function drive(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status !== 'running') return;
    const from = op.params.from as Placement;
    const to = op.params.to as Placement;
    const tenantId = op.tenantId;
    const done = (i: number) => op.steps[i]?.status === 'done';
    let tenant = await tenantToMove(deps, op, sleep);
    if (!tenant) {
      return finish(
        id,
        'failed',
        isOnboarding(op)
          ? ONBOARDING_STOPPED
          : { code: 'tenant_gone', message: 'The tenant no longer exists.' },
      );
    }
    const switched = tenant.placement === to && tenant.move === undefined;
    if (!switched && tenant.move?.operationId !== id) {
      // Created, but the tenant never recorded this move (a crash in between, or another move won). An
      // onboarding's tenant is born with its move: one without it is another tenant of that id (the
      // onboarding was refused, or killed before its refusal was recorded), never to be promoted by it.
      if (tenant.move || tenant.placement !== from || isOnboarding(op)) {
        return finish(id, 'failed', {
          code: 'superseded',
          message: 'The tenant changed before the move began.',
        });
      }
      tenant = await setMove(deps.directory, tenant, { operationId: id, from, to, phase: 'provisioning' });
    }
    const source: StoreRef = laneForPlacement(tenantId, from, '').store;
    const target: StoreRef = laneForPlacement(tenantId, to, '').store;

    if (!switched) {
      if (!done(PROVISION)) {
        try {
          const detail = await provisionPlacement(deps, tenant, to, {
            signal: abort.signal,
            report: async (d) => {
              await setStep(deps.operations, id, PROVISION, 'running', d);
            },
          });
          await setStep(deps.operations, id, PROVISION, 'done', detail);
        } catch (error) {
          // Stopped while waiting (a restart, the end of a control function's run): resume later.
          if (error instanceof StoppedError || stopped) throw error;
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
            return data.copy(tenantId, source, target, report, abort.signal);
          });
        }
        let problems: string[] = [];
        await step(id, VERIFY, async () => {
          await setMovePhase(deps.directory, tenantId, id, 'verifying');
          const result = await data.verify(tenantId, source, target, abort.signal);
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
        { signal: abort.signal, report: (d) => report(d) },
        (id, ref) => data.removeShared(id, ref, abort.signal),
      );
    });
    await finish(id, 'succeeded');
    log('info', 'placement move finished', { operationId: id, tenantId, from, to });
  }

  async function rollBackProvisioning(
    id: string,
    tenantId: TenantId,
    to: Placement,
    cause: unknown,
  ): Promise<void> {
    await clearMove(deps.directory, tenantId, id);
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
    await setStep(deps.operations, id, PROVISION, 'failed', String((cause as Error)?.message ?? cause));
    await finish(id, 'failed', {
      code: 'provisioning_failed',
      message: `Rolled back: ${String((cause as Error)?.message ?? cause)}`,
    });
  }

  return {
    start,
    onboard: onboardMoving(deps.operations, launch),
    async applySettings(tenantId) {
      const tenant = await deps.directory.get(tenantId);
      if (tenant?.placement !== 'dedicated' || tenant.move) return undefined;
      if (infrastructureOf(deps).speed !== 'slow') return undefined;
      const running = (await deps.operations.listByTenant(tenantId)).find(
        (op) => op.kind === 'apply' && op.status === 'running',
      );
      // A running apply re-reads the settings when its deploy ends and deploys again if they changed.
      if (running) return running;
      const op = newOperation('apply', tenantId, [...APPLY_STEPS], {});
      await deps.operations.create(op);
      launch(op.id, 'apply');
      return op;
    },
    async offboard(tenantId) {
      const op = await newOffboardOperation(deps, tenantId);
      launch(op.id, 'offboard');
      return op;
    },
    async resume() {
      // Upgrades have a runner of their own (release-rollout.ts).
      for (const op of await deps.operations.listRunning()) if (op.kind !== 'rollout') launch(op.id, op.kind);
      return active.size;
    },
    async idle() {
      while (active.size > 0) await Promise.all(active.values());
    },
    async settled(id) {
      await active.get(id);
    },
    async stop() {
      stopped = true;
      abort.abort();
      await Promise.all(active.values());
    },
  };
}

export { allJobs, allObjects } from './move-data.ts';
export { MOVE_STEPS, type MoveDataSteps, type MoveDeps } from './move-steps.ts';

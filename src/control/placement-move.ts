import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { retryPolicy } from '../core/backoff.ts';
import { ConditionFailedError, ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';
import { checkRegion, REGION_PATTERN } from '../core/region.ts';
import type { Placement } from '../core/tenant.ts';
import type { OnboardDedicated, OnboardMoving } from '../ports/control-hooks.ts';
import type { Operation } from '../ports/operation-store.ts';
import { StoppedError } from '../ports/tenant-infrastructure.ts';
import { APPLY_STEPS, driveApply } from './apply-settings.ts';
import { dedicatedPlacementProblem } from './lanes.ts';
import { copyAll, removeSharedData, verify } from './move-data.ts';
import { createMoveDriver } from './move-drive.ts';
import { MOVE_STEPS, type MoveDataSteps, type MoveDeps } from './move-steps.ts';
import { setMove } from './move-tenant.ts';
import { driveOffboard, newOffboardOperation } from './offboard-operation.ts';
import { driveOnboard, ONBOARDING_CUT_SHORT, onboardMoving, recordOnboarding } from './onboarding.ts';
import { type DrivingLease, driveUnderLease, drivingLease, guardedByLease } from './operation-lease.ts';
import { finishOperation, newOperation } from './operations.ts';
import { infrastructureOf } from './tenants.ts';

export interface MoveRunner {
  /**
   * Starts moving a tenant; answers at once with the running operation. `region`: with `dedicated`, the
   * contract region the tenant's stack and data move to, recorded with the move in the one write that
   * starts it (never without one).
   */
  start(tenantId: string, to: Placement, options?: { region?: string }): Promise<Operation>;
  /** Onboards a tenant promoted at once (`OnboardMoving`): its promotion recorded before it exists. */
  onboard: OnboardMoving;
  /** Onboards a dedicated tenant whose lanes are made at once, its intent recorded first (`recordOnboarding`). */
  onboardDedicated: OnboardDedicated;
  /**
   * Settles every onboarding left running (`driveOnboard`) without waiting out its grace: only for a
   * process that holds the stores alone and serves nothing yet (the embedded server before it listens).
   * Answers how many it settled.
   */
  reconcileOnboardings(): Promise<number>;
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
 * Runs a tenant's long operations: promotion and demotion (how a move stays safe: `createMoveDriver`),
 * onboarding promoted at once, applying function settings and offboarding. Each is driven in this process
 * until it ends, driven again after an error that escaped its steps, and resumed after a restart.
 */
export function createMoveRunner(deps: MoveDeps): MoveRunner {
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

  /** This process, as the holder of the operations it drives (`drivingLease`), and its hold on each. */
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = deps.leaseMs ?? 60_000;
  const leases = new Map<string, DrivingLease>();

  const drive = createMoveDriver(deps, {
    signal: abort.signal,
    sleep,
    stopped: () => stopped,
    data,
    checkHold: (id) => leases.get(id)?.check(),
  });

  /**
   * Drives an operation until it ends. Its steps retry inside; an error that escapes them (the operation
   * or tenant store failing for a moment) drives it again after a backoff, as the upgrade runner does:
   * otherwise it stayed `running` with nothing driving it, refusing the tenant's next move until a restart.
   */
  function launch(id: string, kind: Operation['kind'] = 'move'): void {
    if (active.has(id) || stopped || deps.drive === 'elsewhere') return;
    const once = () =>
      kind === 'apply'
        ? apply(id)
        : kind === 'offboard'
          ? offboard(id)
          : kind === 'onboard'
            ? onboarding(id)
            : drive(id);
    const lease = drivingLease(
      deps.operations,
      id,
      holder,
      leaseMs,
      (error) =>
        log('warn', 'renewing the hold on an operation failed', { operationId: id, error: String(error) }),
      deps.soleDriver,
    );
    leases.set(id, lease);
    const run = driveUnderLease({
      lease,
      leaseMs,
      retry: retryPolicy(deps.retryMs ?? 5000),
      // A stop during the wait ends it at once (sleep throws StoppedError).
      wait: (ms) =>
        sleep(ms).then(
          () => true,
          () => false,
        ),
      stopped: () => stopped,
      drive: once,
      failed: async (error, retryInMs) => {
        log('error', 'placement operation failed; driving it again', {
          operationId: id,
          kind,
          error: String(error),
          retryInMs,
        });
        return false;
      },
      paused: () => log('info', 'placement move paused; it resumes where it stopped', { operationId: id }),
      leaseLost: () =>
        log('warn', 'another process took the operation over; standing by', { operationId: id, kind }),
    }).finally(() => {
      active.delete(id);
      leases.delete(id);
    });
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
      await finishOperation(deps.operations, op.id, 'failed', {
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

  /**
   * `deps` for driving the operation `id`: its operation writes check this process's lease first (moves
   * check it before each step through `checkHold`), so a driver whose lease ran out stops at its next step.
   */
  const held = (id: string): MoveDeps => {
    const lease = leases.get(id);
    return lease ? { ...deps, operations: guardedByLease(deps.operations, lease) } : deps;
  };

  async function offboard(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status === 'running') await driveOffboard(held(id), op, abort.signal);
  }

  async function onboarding(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status !== 'running') return;
    const settled = await driveOnboard(held(id), op, sleep);
    if (settled.error?.code === ONBOARDING_CUT_SHORT.code)
      log('warn', 'an onboarding cut short was rolled back', { operationId: id, tenantId: op.tenantId });
  }

  async function apply(id: string): Promise<void> {
    const op = await deps.operations.get(id);
    if (op?.status === 'running') await driveApply(held(id), op, abort.signal);
  }

  return {
    start,
    onboard: onboardMoving(deps.operations, launch),
    onboardDedicated: recordOnboarding(deps),
    async reconcileOnboardings() {
      const left = (await deps.operations.listRunning()).filter((op) => op.kind === 'onboard');
      for (const op of left) {
        const settled = await driveOnboard(deps, op, sleep, true);
        log('warn', 'an onboarding cut short was settled', {
          operationId: op.id,
          tenantId: op.tenantId,
          status: settled.status,
          ...(settled.error ? { code: settled.error.code } : {}),
        });
      }
      return left.length;
    },
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

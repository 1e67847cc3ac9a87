import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { retryPolicy } from '../core/backoff.ts';
import { ConflictError, NotFoundError, ReleasePointerError, ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { planWaves, RELEASE_ID_PATTERN, releaseOf } from '../core/release.ts';
import { incarnationOf } from '../core/tenant.ts';
import type { Operation } from '../ports/operation-store.ts';
import { driveUnderLease, drivingLease } from './operation-lease.ts';
import { newOperation } from './operations.ts';
import { waveStepName } from './rollout-canary.ts';
import { driveRollout, type RolloutDriveDeps } from './rollout-drive.ts';
import { evidenceParams } from './rollout-evidence.ts';
import { countFailure, permanentRolloutFailure } from './rollout-failures.ts';
import { haltRollout, markAborted } from './rollout-halt.ts';
import { claimRolloutSlot } from './rollout-slot.ts';
import { leaveWithdrawnReleases, publishedReleases } from './rollout-waves.ts';
import { allTenants } from './tenants.ts';

/** Operations of the whole platform (an upgrade) are filed under this id, which no tenant id can be. */
export const PLATFORM_OPERATIONS = '_platform' as TenantId;

export interface RolloutDeps extends RolloutDriveDeps {
  /** How long each wave is watched before the next begins (ms; default 5 minutes). */
  observeMs?: number;
  /**
   * Jobs each tenant of a wave must run on the release while watched (default 1): a tenant that ran fewer
   * is `unobserved`, not healthy, and the watch goes on for it up to `maxObserveMs` (rollout-evidence.ts).
   */
  minJobs?: number;
  /** The longest a wave is watched while it lacks evidence (ms from its start; default 4 × `observeMs`). */
  maxObserveMs?: number;
  /**
   * How long a driver's hold on an upgrade lasts unrenewed (ms; default 60 s): it renews it every third of
   * that while it drives, and another process takes the upgrade over once it has run out (`drivingLease`).
   */
  leaseMs?: number;
  /**
   * This process is the only one that can drive operations (the embedded server, which holds its data
   * directory's lock): a lease another left is taken over at once, as its process must have died.
   */
  soleDriver?: boolean;
  /** First wait before an upgrade whose driver failed is driven again (ms; default 5 s, doubling to a minute). */
  retryMs?: number;
  /**
   * Failures of its driver in a row (counted in the operation, so across processes and Lambda runs) after
   * which an upgrade stops, as when a failure is permanent (`permanentRolloutFailure`); default 20.
   */
  maxFailures?: number;
  /**
   * `here` (default): this process drives the upgrades it starts. `elsewhere`: it only records them (the
   * API on Lambda, whose process freezes between requests); the control function resumes and drives them.
   */
  drive?: 'here' | 'elsewhere';
}

export interface RolloutRequest {
  /** The canary's tenant id; default: the first dedicated tenant by id. */
  canary?: string;
  /** Each wave after the canary is this many times the last (default 2: 1, 2, 4, …). */
  growth?: number;
  maxWave?: number;
  /** Overrides the runner's `observeMs` for this rollout. */
  observeMs?: number;
  /** Overrides the runner's `minJobs` for this rollout (0: a wave needs no evidence). */
  minJobs?: number;
  /** Overrides the runner's `maxObserveMs` for this rollout. */
  maxObserveMs?: number;
}

export interface RolloutRunner {
  start(releaseId: string, request?: RolloutRequest): Promise<Operation>;
  /**
   * Asks a running upgrade to stop: recorded in the operation (the process driving it carries it out at
   * its next check), which then rolls the wave in progress back and ends `failed` with code `aborted`, also
   * when it was halting for another cause already (its message names both).
   * @throws NotFoundError for no such upgrade; ConflictError `rollout_ended` for one that has ended
   */
  abort(id: string, reason?: string): Promise<Operation>;
  list(): Promise<Operation[]>;
  /**
   * Drives the running upgrades this process is not driving (after a restart; the control function each run),
   * having first moved tenants left on a withdrawn release back to the current one. Answers how many it drives.
   */
  resume(): Promise<number>;
  settled(id: string): Promise<void>;
  stop(): Promise<void>;
}

const CURRENT_STEP = 'make the release current for shared tenants';

/**
 * The upgrade operation: a release rolled to every dedicated tenant in waves (canary first, then growing
 * batches), each watched for `observeMs` against every tenant's own baseline (`healthProblem`), the next
 * wave begun only when the last is healthy, and the release made current (shared tenants) at the end.
 * An unhealthy wave is rolled back by itself (its tenants' previous release restored, the messages it
 * dead-lettered redriven onto the previous code) and the operation halts (rollout-halt.ts, as for an abort). Every step is idempotent and
 * its state is persisted before it acts (`wave{i}.start`, `.baseline`, `.rollback` in params), so a
 * restart resumes it where it stopped, like a placement move.
 */
export function createRolloutRunner(deps: RolloutDeps): RolloutRunner {
  const log = deps.log ?? (() => undefined);
  const active = new Map<string, Promise<void>>();
  let stopped = false;
  /** This process, as the holder of the upgrades it drives (`drivingLease`). */
  const holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = deps.leaseMs ?? 60_000;

  /** What a halt needs: a rollback waiting for a tenant's move stops when the runner does. */
  const haltDeps = { ...deps, stopped: () => stopped };
  const firstRetryMs = deps.retryMs ?? 5000;
  const wakers = new Set<() => void>();
  /** A wait that `stop()` cuts short, so stopping never waits out a retry's backoff. */
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });

  /**
   * Drives the operation until it ends. Every step is idempotent and persisted before it acts, so a driver
   * that failed (a store or CloudWatch error) is simply run again after a backoff: an upgrade left
   * `running` with nothing driving it would refuse every later upgrade until a restart.
   */
  function launch(id: string): void {
    if (active.has(id) || stopped || deps.drive === 'elsewhere') return;
    const lease = drivingLease(
      deps.operations,
      id,
      holder,
      leaseMs,
      (error) =>
        log('warn', 'renewing the hold on an upgrade failed', { operationId: id, error: String(error) }),
      deps.soleDriver,
    );
    const run = driveUnderLease({
      lease,
      leaseMs,
      retry: retryPolicy(firstRetryMs),
      wait: (ms) => pause(ms).then(() => !stopped),
      stopped: () => stopped,
      drive: () => driveRollout(deps, { pause, stopped: () => stopped }, id, lease),
      failed: async (error, retryInMs) => {
        // A failure no retry mends (or one that has lasted too many tries) stops the upgrade and says why:
        // driven again forever, it refused every later upgrade (409 rollout_in_progress) with no way out.
        const why = permanentRolloutFailure(error) ?? (await countFailure(deps, id, error));
        if (why !== undefined && (await haltRollout(haltDeps, id, `The upgrade cannot go on: ${why}`)))
          return true;
        log('error', 'upgrade step failed; driving it again', {
          operationId: id,
          error: String(error),
          retryInMs,
        });
        return false;
      },
      paused: () => log('info', 'upgrade paused; it resumes where it stopped', { operationId: id }),
      leaseLost: () => log('warn', 'another process took the upgrade over; standing by', { operationId: id }),
    }).finally(() => active.delete(id));
    active.set(id, run);
  }

  async function start(releaseId: string, request: RolloutRequest = {}): Promise<Operation> {
    if (!RELEASE_ID_PATTERN.test(releaseId) || !(await deps.catalog.get(releaseId))) {
      throw new NotFoundError(`Release "${releaseId}"`);
    }
    const observeMs = request.observeMs ?? deps.observeMs ?? 300_000;
    // Raised to `observeMs` quietly, a shorter bound asked for was not the one the upgrade kept.
    if (request.maxObserveMs !== undefined && request.maxObserveMs < observeMs)
      throw new ValidationError([
        {
          path: '/maxObserveSec',
          message: `must be at least observeSec (${observeMs / 1000} s${request.observeMs === undefined ? ', the default' : ''}): every wave is watched that long`,
          rule: 'minimum',
        },
      ]);
    const running = (await deps.operations.listByTenant(PLATFORM_OPERATIONS)).find(
      (op) => op.kind === 'rollout' && op.status === 'running',
    );
    if (running?.params.release === releaseId) {
      launch(running.id);
      return running;
    }
    if (running) {
      throw new ConflictError(
        `The upgrade to ${running.params.release} is running (${running.id}); wait for it to end.`,
        'rollout_in_progress',
      );
    }
    // A damaged pointer (ReleasePointerError) is what an upgrade repairs, as its error tells the operator: the
    // rollout's last step rewrites it. Until then a tenant that follows it runs nothing known, so every
    // dedicated tenant not on the release by its own record is in a wave.
    const current = await deps.catalog.current().catch((error: unknown) => {
      if (error instanceof ReleasePointerError) return undefined;
      throw error;
    });
    const tenants = (await allTenants(deps)).filter(
      (t) =>
        t.placement === 'dedicated' &&
        t.status !== 'offboarding' &&
        (current === undefined ? t.release : releaseOf(t, current)) !== releaseId,
    );
    tenants.sort((a, b) => (a.id < b.id ? -1 : 1));
    if (request.canary !== undefined) {
      const canary = tenants.findIndex((t) => t.id === request.canary);
      if (canary < 0) {
        throw new ValidationError([
          { path: '/canary', message: 'must be a dedicated tenant not yet on the release', rule: 'canary' },
        ]);
      }
      tenants.unshift(...tenants.splice(canary, 1));
    }
    const waves = planWaves(
      tenants.map((t) => t.id),
      {
        ...(request.growth ? { growth: request.growth } : {}),
        ...(request.maxWave ? { maxWave: request.maxWave } : {}),
      },
    );
    // A release withdrawn (its folder removed) is not one to go back to: a rollback restores the current one.
    const published = await publishedReleases(deps.catalog);
    const previous = Object.fromEntries(
      tenants.map((t) => [t.id, t.release && published.has(t.release) ? t.release : '']),
    );
    // A wave is of these tenants, not of whoever holds their ids when it runs (an id offboarded and
    // onboarded again is another customer: neither this release nor its predecessor's pin is its own).
    const incarnations = Object.fromEntries(tenants.map((t) => [t.id, incarnationOf(t)]));
    const steps = [...waves.map((w, i) => waveStepName(i, w.length, i === 0)), CURRENT_STEP];
    const op = newOperation('rollout', PLATFORM_OPERATIONS, steps, {
      release: releaseId,
      from: current ?? 'damaged pointer',
      to: releaseId,
      waves: JSON.stringify(waves),
      previous: JSON.stringify(previous),
      incarnations: JSON.stringify(incarnations),
      observeMs: String(observeMs),
      ...evidenceParams(
        observeMs,
        request.minJobs ?? deps.minJobs,
        request.maxObserveMs ?? deps.maxObserveMs,
      ),
      // Kept to plan the waves again when the canary leaves the upgrade (`ensureCanary`).
      ...(request.growth ? { growth: String(request.growth) } : {}),
      ...(request.maxWave ? { maxWave: String(request.maxWave) } : {}),
    });
    // The listing above is only a fast answer: the claim decides (two starts at once both found none).
    await claimRolloutSlot(deps.operations, op.id);
    await deps.operations.create(op);
    launch(op.id);
    return op;
  }

  async function abort(id: string, reason = 'an operator aborted it'): Promise<Operation> {
    const marked = await markAborted(deps.operations, id, reason);
    // A driver waiting (watching a wave, backing off after a failure) carries it out now; none driving it
    // in this process (after a restart, a driver that ended): one is started. On Lambda the control
    // function does it at its next run.
    for (const wake of [...wakers]) wake();
    launch(id);
    return marked;
  }

  /**
   * Tenants left on a withdrawn release (its folder removed after their wave, by hand or with the bundle on
   * AWS) go back to the current one (`leaveWithdrawnReleases`). A failure is logged: the next resume retries.
   */
  async function leaveWithdrawn(): Promise<void> {
    try {
      const moved = await leaveWithdrawnReleases(deps);
      if (moved.length === 0) return;
      await deps.onReleaseChange?.();
      log('warn', 'tenants on a withdrawn release moved back to the current release', { tenants: moved });
    } catch (error) {
      log('error', 'moving tenants off withdrawn releases failed', { error: String(error) });
    }
  }

  return {
    start,
    abort,
    async list() {
      const ops = await deps.operations.listByTenant(PLATFORM_OPERATIONS);
      return ops.filter((op) => op.kind === 'rollout').sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    },
    async resume() {
      await leaveWithdrawn();
      for (const op of await deps.operations.listRunning()) if (op.kind === 'rollout') launch(op.id);
      return active.size;
    },
    async settled(id) {
      await active.get(id);
    },
    async stop() {
      stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.all(active.values());
    },
  };
}

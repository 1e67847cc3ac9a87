import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { retryPolicy } from '../core/backoff.ts';
import { ConflictError, NotFoundError, ReleasePointerError, ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import {
  type HealthSample,
  healthProblem,
  planWaves,
  RELEASE_ID_PATTERN,
  releaseOf,
} from '../core/release.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import type { FiringAlarm, ReleaseAlarms } from '../ports/release-alarms.ts';
import { type DrivingLease, driveUnderLease, drivingLease } from './operation-lease.ts';
import {
  changeOperation,
  finishOperation,
  newOperation,
  requireOperation,
  setOperationParams,
  setStep,
} from './operations.ts';
import { countFailure, permanentRolloutFailure } from './rollout-failures.ts';
import { haltRecorded, haltRollout, markAborted, settleHalt } from './rollout-halt.ts';
import { claimRolloutSlot } from './rollout-slot.ts';
import { applyRelease, incarnationsOf, movingTenants, sampleWaveTenant } from './rollout-waves.ts';
import type { ControlDeps } from './tenants.ts';

/** Operations of the whole platform (an upgrade) are filed under this id, which no tenant id can be. */
export const PLATFORM_OPERATIONS = '_platform' as TenantId;

export interface RolloutDeps extends ControlDeps {
  operations: OperationStore;
  catalog: ReleaseCatalog;
  /** Called after tenants' releases change (the local host replaces their function processes at once). */
  onReleaseChange?(): Promise<void>;
  /** How long each wave is watched before the next begins (ms; default 5 minutes). */
  observeMs?: number;
  /**
   * The tenants' alarms (CloudWatch on AWS, alert rules on metrics history embedded): one that starts firing
   * while a wave is watched makes the wave unhealthy. Without it, only jobs and dead letters are read.
   */
  alarms?: ReleaseAlarms;
  /** Each tenant's baseline: its jobs over this long before its wave began (ms; default 24 hours). */
  baselineMs?: number;
  pollMs?: number;
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
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

export interface RolloutRequest {
  /** The canary's tenant id; default: the first dedicated tenant by id. */
  canary?: string;
  /** Each wave after the canary is this many times the last (default 2: 1, 2, 4, …). */
  growth?: number;
  maxWave?: number;
  /** Overrides the runner's `observeMs` for this rollout. */
  observeMs?: number;
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
  const pollMs = deps.pollMs ?? 500;
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
      drive: () => drive(id, lease),
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
    const previous = Object.fromEntries(tenants.map((t) => [t.id, t.release ?? '']));
    // A wave is of these tenants, not of whoever holds their ids when it runs (an id offboarded and
    // onboarded again is another customer: neither this release nor its predecessor's pin is its own).
    const incarnations = Object.fromEntries(tenants.map((t) => [t.id, incarnationOf(t)]));
    const steps = [
      ...waves.map(
        (w, i) =>
          `wave ${i + 1}${i === 0 ? ' (canary)' : ''}: ${w.length} tenant${w.length === 1 ? '' : 's'}`,
      ),
      CURRENT_STEP,
    ];
    const op = newOperation('rollout', PLATFORM_OPERATIONS, steps, {
      release: releaseId,
      from: current ?? 'damaged pointer',
      to: releaseId,
      waves: JSON.stringify(waves),
      previous: JSON.stringify(previous),
      incarnations: JSON.stringify(incarnations),
      observeMs: String(request.observeMs ?? deps.observeMs ?? 300_000),
    });
    // The listing above is only a fast answer: the claim decides (two starts at once both found none).
    await claimRolloutSlot(deps.operations, op.id);
    await deps.operations.create(op);
    launch(op.id);
    return op;
  }

  /** Drives the upgrade while this process holds it (`lease`, checked before each step: `LeaseLostError`). */
  async function drive(id: string, lease: DrivingLease): Promise<void> {
    let op = await deps.operations.get(id);
    if (op?.status !== 'running') return;
    lease.check();
    // A halt recorded (an abort, a failure, an unhealthy wave; by this process before it died, or by another)
    // is finished, never resumed past.
    if (haltRecorded(op)) return settleHalt(haltDeps, id);
    const release = op.params.release as string;
    const waves = JSON.parse(op.params.waves ?? '[]') as TenantId[][];
    const observeMs = Number(op.params.observeMs);
    for (const [i, wave] of waves.entries()) {
      if (stopped) throw new Error('The upgrade runner stopped.');
      lease.check();
      op = await requireOp(id);
      // Ended by another driver (its halt, or its abort carried out): nothing more is deployed.
      if (op.status !== 'running') return;
      if (haltRecorded(op)) return settleHalt(haltDeps, id);
      if (op.steps[i]?.status === 'done') continue;
      await requirePublished(deps.catalog, release);
      // A tenant mid-move is deployed to once its move ends (a demotion may roll back and keep it dedicated):
      // skipped, it stayed on the old release after the upgrade succeeded, and a canary skipped left its wave
      // empty, so the next, larger wave went out with no canary watched.
      if (!op.params[`wave${i}.start`]) {
        for (;;) {
          const moving = await movingTenants(deps, wave, incarnationsOf(op));
          if (moving.length === 0) break;
          if (stopped) throw new Error('The upgrade runner stopped.');
          lease.check();
          const latest = await requireOp(id);
          if (latest.status !== 'running') return;
          if (haltRecorded(latest)) return settleHalt(haltDeps, id);
          await setStep(
            deps.operations,
            id,
            i,
            'running',
            `waiting for the move of ${moving.join(', ')} to end before deploying ${release}`,
          );
          await pause(pollMs);
        }
      }
      // The baseline is taken (and persisted) before the wave changes anything.
      if (!op.params[`wave${i}.start`]) {
        const start = new Date().toISOString();
        const from = new Date(Date.parse(start) - (deps.baselineMs ?? 86_400_000)).toISOString();
        const baseline: Record<string, HealthSample> = {};
        const staying: TenantId[] = [];
        for (const tenantId of wave) {
          // A tenant that has left the upgrade (demoted, offboarded) is not deployed to: nothing to compare.
          const sample = await sampleWaveTenant(deps, tenantId, incarnationsOf(op), from, start);
          if (sample === undefined) continue;
          baseline[tenantId] = sample;
          staying.push(tenantId);
        }
        // Alarms already firing are part of the baseline, as old dead letters are: not the release's doing.
        const firing = staying.length > 0 ? ((await deps.alarms?.firing(staying)) ?? []) : [];
        op = await setParams(id, {
          [`wave${i}.start`]: start,
          [`wave${i}.baseline`]: JSON.stringify(baseline),
          [`wave${i}.alarms`]: JSON.stringify(firing.map(alarmKey)),
        });
      }
      const start = op.params[`wave${i}.start`] as string;
      const baseline = JSON.parse(op.params[`wave${i}.baseline`] ?? '{}') as Record<string, HealthSample>;
      const firingBefore = new Set(JSON.parse(op.params[`wave${i}.alarms`] ?? '[]') as string[]);
      const deploying = await setStep(
        deps.operations,
        id,
        i,
        'running',
        `deploying ${release} to ${wave.join(', ')}`,
      );
      if (deploying.status !== 'running') return;
      lease.check();
      let applied = await applyRelease(deps, wave, () => release, incarnationsOf(op));
      await deps.onReleaseChange?.();
      const until = Date.parse(start) + observeMs;
      for (;;) {
        const problems: string[] = [];
        // Tenants that leave the upgrade while the wave is watched (demoted, offboarded) are watched no more.
        const watched: TenantId[] = [];
        for (const tenantId of applied) {
          const sample = await sampleWaveTenant(deps, tenantId, incarnationsOf(op), start);
          if (sample === undefined) continue;
          watched.push(tenantId);
          const problem = healthProblem(baseline[tenantId] ?? empty(), sample);
          if (problem) problems.push(`${tenantId}: ${problem}`);
        }
        applied = watched;
        for (const alarm of (applied.length > 0 ? await deps.alarms?.firing(applied) : undefined) ?? []) {
          if (!firingBefore.has(alarmKey(alarm)))
            problems.push(`${alarm.tenantId}: alarm ${alarm.name} firing: ${alarm.reason}`);
        }
        if (problems.length > 0) {
          const reason = problems.slice(0, 5).join('; ');
          // Recorded before the rollback, so a driver that resumes it after a crash rolls back too.
          lease.check();
          await setParams(id, { [`wave${i}.rollback`]: reason });
          return settleHalt(haltDeps, id);
        }
        await requirePublished(deps.catalog, release);
        const left = until - Date.now();
        if (left <= 0) break;
        if (stopped) throw new Error('The upgrade runner stopped.');
        lease.check();
        const latest = await requireOp(id);
        if (latest.status !== 'running') return;
        if (haltRecorded(latest)) return settleHalt(haltDeps, id);
        await setStep(
          deps.operations,
          id,
          i,
          'running',
          `watching ${count(applied.length)} on ${release}: ${Math.ceil(left / 1000)} s left`,
          1 - left / Math.max(1, observeMs),
        );
        // `abort` cuts the wait short.
        await pause(Math.min(pollMs, left));
      }
      lease.check();
      await setStep(deps.operations, id, i, 'done', `${count(applied.length)} on ${release}, healthy`);
      if (op.params.failures !== undefined) await setParams(id, { failures: '0' });
    }
    const last = waves.length;
    lease.check();
    if ((await requireOp(id)).steps[last]?.status !== 'done') {
      // Claimed against an abort in one compare-and-set: an abort recorded before is carried out (the
      // release is not made current), one asked after is refused (409). Unclaimed, an abort recorded while
      // the last wave ended was answered 202 and the upgrade then succeeded with the release current.
      const claimed = await changeOperation(deps.operations, id, (o) =>
        o.status !== 'running' || o.params.abort !== undefined || o.params.finishing !== undefined
          ? o
          : { ...o, params: { ...o.params, finishing: new Date().toISOString() } },
      );
      if (claimed.status !== 'running') return;
      if (haltRecorded(claimed)) return settleHalt(haltDeps, id);
      await requirePublished(deps.catalog, release);
      await deps.catalog.setCurrent(release);
      await deps.onReleaseChange?.();
      await setStep(deps.operations, id, last, 'done', `${release} is current`);
    }
    await finishOperation(deps.operations, id, 'succeeded');
    log('info', 'upgrade finished', { operationId: id, release });
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

  const requireOp = (id: string) => requireOperation(deps.operations, id);
  const setParams = (id: string, params: Record<string, string>) =>
    setOperationParams(deps.operations, id, params);

  return {
    start,
    abort,
    async list() {
      const ops = await deps.operations.listByTenant(PLATFORM_OPERATIONS);
      return ops.filter((op) => op.kind === 'rollout').sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    },
    async resume() {
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

/**
 * Throws NotFoundError (404: a failure no retry mends, `permanentRolloutFailure`, so the upgrade halts and
 * rolls back the wave in progress) when `release` is no longer in the releases folder. The driver loads it
 * once; withdrawn meanwhile (its folder removed), it was deployed on and made current, and every process that
 * opened the folder afresh found no release for the pointer: every shared tenant's jobs failed.
 */
async function requirePublished(catalog: ReleaseCatalog, release: string): Promise<void> {
  const { releases } = await catalog.list();
  if (!releases.some((r) => r.id === release))
    throw new NotFoundError(`Release "${release}", withdrawn from the releases folder during its upgrade,`);
}

function count(tenants: number): string {
  return `${tenants} tenant${tenants === 1 ? '' : 's'}`;
}

function alarmKey(alarm: FiringAlarm): string {
  return `${alarm.tenantId} ${alarm.name}`;
}

function empty(): HealthSample {
  return { finished: 0, failures: 0, deadLetters: 0 };
}

export async function allTenants(deps: Pick<ControlDeps, 'directory'>): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    tenants.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return tenants;
}

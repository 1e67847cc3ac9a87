import { NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import { type HealthSample, healthProblem } from '../core/release.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { OperationStore } from '../ports/operation-store.ts';
import type { FiringAlarm, ReleaseAlarms } from '../ports/release-alarms.ts';
import type { DrivingLease } from './operation-lease.ts';
import {
  changeOperation,
  finishOperation,
  requireOperation,
  setOperationParams,
  setStep,
} from './operations.ts';
import { ensureCanary, wavesOf } from './rollout-canary.ts';
import {
  awaitingEvidence,
  evidenceRule,
  tenantList,
  unobservedTenants,
  waveVerdict,
} from './rollout-evidence.ts';
import { haltRecorded, settleHalt } from './rollout-halt.ts';
import {
  applyRelease,
  incarnationsOf,
  latecomers,
  movingTenants,
  publishedReleases,
  sampleWaveTenant,
} from './rollout-waves.ts';
import type { ControlDeps } from './tenants.ts';

/** What driving an upgrade needs (a part of the runner's `RolloutDeps`). */
export interface RolloutDriveDeps extends ControlDeps {
  operations: OperationStore;
  catalog: ReleaseCatalog;
  /** Called after tenants' releases change (the local host replaces their function processes at once). */
  onReleaseChange?(): Promise<void>;
  /**
   * The tenants' alarms (CloudWatch on AWS, alert rules on metrics history embedded): one that starts firing
   * while a wave is watched makes the wave unhealthy. Without it, only jobs and dead letters are read.
   */
  alarms?: ReleaseAlarms;
  /** Each tenant's baseline: its jobs over this long before its wave began (ms; default 24 hours). */
  baselineMs?: number;
  pollMs?: number;
  log?(level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
}

/** What driving an upgrade takes from the runner that drives it (`createRolloutRunner`). */
export interface RolloutRun {
  /** A wait that the runner's `stop()` and an abort cut short. */
  pause(ms: number): Promise<void>;
  /** Whether the runner stopped: the driver throws at its next check, and the upgrade resumes later. */
  stopped(): boolean;
}

/**
 * Drives the upgrade `id` while this process holds it (`lease`, checked before each step: `LeaseLostError`)
 * until it ends: for each wave not done, waits for its tenants' moves, takes its baseline, deploys it and
 * watches it for `observeMs`; then makes the release current. Throws when the runner stopped (it resumes
 * where it stopped) or a step failed (the runner drives it again, `driveUnderLease`).
 */
export async function driveRollout(
  deps: RolloutDriveDeps,
  run: RolloutRun,
  id: string,
  lease: DrivingLease,
): Promise<void> {
  const log = deps.log ?? (() => undefined);
  const pollMs = deps.pollMs ?? 500;
  const { pause } = run;
  const stopped = () => run.stopped();
  /** What a halt needs: a rollback waiting for a tenant's move stops when the runner does. */
  const haltDeps = { ...deps, stopped };
  const requireOp = (id: string) => requireOperation(deps.operations, id);
  const setParams = (id: string, params: Record<string, string>) =>
    setOperationParams(deps.operations, id, params);
  /**
   * Checked before each wait: throws when the runner stopped or another process holds the upgrade; answers
   * false when it has ended, or once the halt recorded in it (by an abort, another driver) is carried out.
   */
  const goOn = async (): Promise<boolean> => {
    if (stopped()) throw new Error('The upgrade runner stopped.');
    lease.check();
    const latest = await requireOp(id);
    if (latest.status !== 'running') return false;
    if (!haltRecorded(latest)) return true;
    await settleHalt(haltDeps, id);
    return false;
  };

  let op = await deps.operations.get(id);
  if (op?.status !== 'running') return;
  lease.check();
  // A halt recorded (an abort, a failure, an unhealthy wave; by this process before it died, or by another)
  // is finished, never resumed past.
  if (haltRecorded(op)) return settleHalt(haltDeps, id);
  const release = op.params.release as string;
  let waves = wavesOf(op);
  const evidence = evidenceRule(op);
  const observeMs = evidence.observeMs;
  for (let i = 0; i < waves.length; i++) {
    if (stopped()) throw new Error('The upgrade runner stopped.');
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
        const moving = await movingTenants(deps, waves[i] ?? [], incarnationsOf(op));
        if (moving.length === 0) break;
        if (!(await goOn())) return;
        await setStep(
          deps.operations,
          id,
          i,
          'running',
          `waiting for the move of ${tenantList(moving)} to end before deploying ${release}`,
        );
        await pause(pollMs);
      }
      // An empty wave is no evidence: until a tenant was watched on the release, the next wave is one tenant.
      op = await ensureCanary(deps, op, i);
      waves = wavesOf(op);
      if (i >= waves.length) break;
    }
    const wave = waves[i]!;
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
    // Read as NaN, a damaged start never let the watch end (`left <= 0` is false): the driver polled for ever.
    if (Number.isNaN(Date.parse(start)))
      throw new SyntaxError(`params.wave${i}.start is ${JSON.stringify(start)}, not an instant`);
    const baseline = JSON.parse(op.params[`wave${i}.baseline`] ?? '{}') as Record<string, HealthSample>;
    const firingBefore = new Set(JSON.parse(op.params[`wave${i}.alarms`] ?? '[]') as string[]);
    const deploying = await setStep(
      deps.operations,
      id,
      i,
      'running',
      `deploying ${release} to ${tenantList(wave)}`,
    );
    if (deploying.status !== 'running') return;
    lease.check();
    let applied = await applyRelease(deps, wave, () => release, incarnationsOf(op));
    await deps.onReleaseChange?.();
    const until = Date.parse(start) + observeMs;
    // No evidence is not health: past `observeMs` the watch goes on while a tenant has run fewer than
    // `minJobs` jobs on the release (idle, or pinned to versions another release carries), up to `maxObserveMs`.
    const latest = Date.parse(start) + evidence.maxObserveMs;
    let unobserved: TenantId[] = [];
    for (;;) {
      const problems: string[] = [];
      // Tenants that leave the upgrade while the wave is watched (demoted, offboarded) are watched no more.
      const watched: TenantId[] = [];
      const short: TenantId[] = [];
      for (const tenantId of applied) {
        const sample = await sampleWaveTenant(deps, tenantId, incarnationsOf(op), start, undefined, release);
        if (sample === undefined) continue;
        watched.push(tenantId);
        if ((sample.onRelease ?? 0) < evidence.minJobs) short.push(tenantId);
        const problem = healthProblem(baseline[tenantId] ?? empty(), sample);
        if (problem) problems.push(`${tenantId}: ${problem}`);
      }
      applied = watched;
      unobserved = short;
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
      const now = Date.now();
      const left = (unobserved.length > 0 ? latest : until) - now;
      if (left <= 0) break;
      if (!(await goOn())) return;
      await setStep(
        deps.operations,
        id,
        i,
        'running',
        now < until
          ? `watching ${count(applied.length)} on ${release}: ${Math.ceil((until - now) / 1000)} s left`
          : awaitingEvidence(release, unobserved, evidence.minJobs, Math.ceil(left / 1000)),
        Math.min(1, (now - Date.parse(start)) / Math.max(1, observeMs)),
      );
      // `abort` cuts the wait short.
      await pause(Math.min(pollMs, left));
    }
    lease.check();
    // Recorded before the step is done: a canary that left while watched, or ran no job on the release, is no
    // evidence (`ensureCanary`): `watched` counts the tenants observed, `unobserved` names the others.
    await setParams(id, {
      [`wave${i}.watched`]: String(applied.length - unobserved.length),
      ...(unobserved.length > 0 ? { [`wave${i}.unobserved`]: JSON.stringify(unobserved) } : {}),
    });
    const canary = op.params[`wave${i}.canary`];
    const verdict = waveVerdict(
      release,
      applied,
      unobserved,
      evidence.minJobs,
      Date.now() - Date.parse(start),
    );
    await setStep(deps.operations, id, i, 'done', `${verdict}${canary ? `; ${canary}` : ''}`);
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
    const joined = await deployLatecomers(deps, run, id, release, goOn);
    if (joined === undefined) return;
    // Made current on no evidence is said so: the operator sees which tenants never ran the release.
    const unseen = unobservedTenants(await requireOp(id));
    const note = unseen.length > 0 ? `; unobserved while watched: ${tenantList(unseen)}` : '';
    const late =
      joined.length > 0
        ? `; deployed to ${tenantList(joined)} at the end (dedicated since their wave was planned, in none)`
        : '';
    await setStep(deps.operations, id, last, 'done', `${release} is current${late}${note}`);
  }
  await finishOperation(deps.operations, id, 'succeeded');
  log('info', 'upgrade finished', { operationId: id, release });
}

/**
 * Throws NotFoundError (404: a failure no retry mends, `permanentRolloutFailure`, so the upgrade halts and
 * rolls back the wave in progress) when `release` is no longer in the releases folder. The driver loads it
 * once; withdrawn meanwhile (its folder removed), it was deployed on and made current, and every process that
 * opened the folder afresh found no release for the pointer: every shared tenant's jobs failed.
 */
async function requirePublished(catalog: ReleaseCatalog, release: string): Promise<void> {
  // Its folder gone, not one there but unreadable (`publishedReleases`: an unreadable folder throws).
  if (!(await publishedReleases(catalog)).has(release))
    throw new NotFoundError(`Release "${release}", withdrawn from the releases folder during its upgrade,`);
}

/**
 * The upgrade's last step, once its release is current: tenants promoted (or onboarded dedicated) since their
 * wave was planned are in none and were deployed with the release current then; they get the release now
 * (`latecomers`; a move still running is waited for, its step says whose), so no dedicated tenant is left on
 * the old code (on AWS its stack kept it). Answers the tenants given it, or undefined when the upgrade ended.
 */
async function deployLatecomers(
  deps: RolloutDriveDeps,
  run: RolloutRun,
  id: string,
  release: string,
  goOn: () => Promise<boolean>,
): Promise<TenantId[] | undefined> {
  for (;;) {
    const op = await requireOperation(deps.operations, id);
    const late = await latecomers(deps, release);
    if (late.moving.length === 0) {
      const joined = await applyRelease(deps, late.ready, () => release, undefined);
      if (joined.length > 0) await deps.onReleaseChange?.();
      return joined;
    }
    if (!(await goOn())) return undefined;
    await setStep(
      deps.operations,
      id,
      op.steps.length - 1,
      'running',
      `waiting for the move of ${tenantList(late.moving)} to end before deploying ${release} to it`,
    );
    await run.pause(deps.pollMs ?? 500);
  }
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

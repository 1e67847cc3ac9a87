import type { TenantId } from '../core/ids.ts';
import type { Operation } from '../ports/operation-store.ts';
import { numberParam } from './operations.ts';

/** Jobs a wave's tenant must run on the release while watched for its health to be evidence (default). */
export const DEFAULT_MIN_JOBS = 1;
/** How much longer than `observeMs` a wave is watched at most while it lacks evidence (default factor). */
export const MAX_OBSERVE_FACTOR = 4;

/**
 * What a wave needs to be judged healthy rather than unobserved: each tenant must run `minJobs` jobs on the
 * release (`job.release`), and the watch goes on past `observeMs` until they have, up to `maxObserveMs` from
 * the wave's start (ms). Read from the upgrade's params (`minJobs`, `maxObserveMs`); an upgrade recorded
 * before they were gets the defaults. @throws SyntaxError when one is recorded damaged (`numberParam`)
 */
export function evidenceRule(op: Operation): { minJobs: number; observeMs: number; maxObserveMs: number } {
  const observeMs = numberParam(op, 'observeMs', 0);
  const minJobs = numberParam(op, 'minJobs', DEFAULT_MIN_JOBS);
  const maxObserveMs = Math.max(observeMs, numberParam(op, 'maxObserveMs', observeMs * MAX_OBSERVE_FACTOR));
  return { minJobs, observeMs, maxObserveMs };
}

/**
 * The params of an upgrade's evidence rule, from the request or the runner's defaults (`minJobs` 1,
 * `maxObserveMs` 4 × `observeMs`), both as recorded strings.
 */
export function evidenceParams(
  observeMs: number,
  minJobs: number | undefined,
  maxObserveMs: number | undefined,
): { minJobs: string; maxObserveMs: string } {
  return {
    minJobs: String(minJobs ?? DEFAULT_MIN_JOBS),
    maxObserveMs: String(Math.max(observeMs, maxObserveMs ?? observeMs * MAX_OBSERVE_FACTOR)),
  };
}

/** Tenants an upgrade's step detail names at most; the rest are counted. */
export const NAMED_TENANTS = 10;

/**
 * Tenant ids for an operation's text: `a, b, c`, past `NAMED_TENANTS` the first ones and `and 990 more`. A step
 * detail or note naming every tenant grew with the fleet, and the canary note with every wave (it names the
 * unobserved tenants of all waves before): an upgrade of a few hundred idle tenants outgrew a DynamoDB item
 * (400 KB) and could no longer be recorded. The params keep the full lists.
 */
export function tenantList(ids: readonly string[], max = NAMED_TENANTS): string {
  if (ids.length <= max) return ids.join(', ');
  return `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
}

/** `1 job`, `3 jobs`. */
function jobs(n: number): string {
  return `${n} job${n === 1 ? '' : 's'}`;
}

/**
 * The step detail of a watched wave once its watch ends: `healthy` only for tenants that ran `minJobs` jobs on
 * the release; the others are named `unobserved` (no evidence is not health).
 */
export function waveVerdict(
  release: string,
  watched: readonly TenantId[],
  unobserved: readonly TenantId[],
  minJobs: number,
  watchedMs: number,
): string {
  const n = watched.length;
  const head = `${n} tenant${n === 1 ? '' : 's'} on ${release}`;
  if (unobserved.length === 0) return `${head}, healthy`;
  const why = `unobserved (fewer than ${jobs(minJobs)} on ${release} in ${Math.round(watchedMs / 1000)} s): ${tenantList(unobserved)}`;
  const healthy = watched.filter((t) => !unobserved.includes(t));
  return healthy.length === 0 ? `${head}, ${why}` : `${head}, healthy: ${tenantList(healthy)}; ${why}`;
}

/** The detail of a wave watched past `observeMs` for want of evidence (`seconds` left before it ends unobserved). */
export function awaitingEvidence(
  release: string,
  unobserved: readonly TenantId[],
  minJobs: number,
  seconds: number,
): string {
  return `waiting for evidence: ${tenantList(unobserved)} ran fewer than ${jobs(minJobs)} on ${release}; ${seconds} s left before the wave ends unobserved`;
}

/** The tenants of the upgrade's done waves recorded unobserved (`wave{i}.unobserved`), in wave order. */
export function unobservedTenants(op: Operation): TenantId[] {
  const out: TenantId[] = [];
  for (let i = 0; op.params[`wave${i}.start`] !== undefined; i++) {
    out.push(...(JSON.parse(op.params[`wave${i}.unobserved`] ?? '[]') as TenantId[]));
  }
  return out;
}

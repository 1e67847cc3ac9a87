import { OperatorPathError, pathFault, ValidationError } from './errors.ts';

/**
 * Pure rules of releases: which model version a tenant's job runs on, how an upgrade splits tenants into
 * waves, and when a wave is unhealthy. The upgrade operation (src/control/release-rollout.ts) persists
 * what these decide; src/models/release-catalog.ts loads the code and
 * src/models/model-selection.ts picks a tenant's.
 */

/** The release of the code built into the platform: every model at the version in src/models. */
export const BUILTIN_RELEASE = 'builtin';

/** `1.2.3`: a model version is a plain semantic version (no range, no build metadata). */
export const MODEL_VERSION_PATTERN = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;

/** Release ids: lower-case letters, digits, dots and dashes, as directory names and DynamoDB keys allow. */
export const RELEASE_ID_PATTERN = /^[a-z0-9][a-z0-9.-]{0,62}$/;

/**
 * Which release is current, kept apart from the releases (ports/release-pointer.ts: a file embedded, a
 * DynamoDB item on AWS). The shape lives here because the release catalog (models/release-catalog.ts) holds
 * one and models/ sits below ports/ (scripts/check-layers.ts).
 */
export interface ReleasePointer {
  /** The current release's id; `builtin` (BUILTIN_RELEASE) before any release was made current. */
  current(): Promise<string>;
  /** Makes `id` current. The caller checks the release exists; a reader sees the old id or the new one. */
  setCurrent(id: string): Promise<void>;
}

/**
 * `id` when it is a release id; a stored one (a tenant's `release`, the current-release pointer) is checked
 * here before it becomes a folder, an S3 key or a template URL (`releases/{id}/…`).
 * @throws ValidationError naming `path` otherwise
 */
export function parseReleaseId(id: unknown, path = '/release'): string {
  if (typeof id === 'string' && RELEASE_ID_PATTERN.test(id)) return id;
  throw new ValidationError([
    { path, message: 'must be a release id: lowercase letters, digits, dots and dashes', rule: 'pattern' },
  ]);
}

/**
 * The release a tenant's functions run: a dedicated tenant the one the upgrade operation gave it (its
 * lanes are replaced wave by wave), every other tenant the platform's current release (the shared
 * functions switch together when an upgrade finishes).
 */
export function releaseOf(
  tenant: { placement: string; release?: string | undefined },
  current: string,
): string {
  return tenant.placement === 'dedicated' && tenant.release ? tenant.release : current;
}

/**
 * Upgrade waves (ARCHITECTURE.md, "Releases"): the canary alone, then batches that grow by `growth`
 * (1, 2, 4, … with the default 2), at most `maxWave` tenants each. Input order is kept, so the canary is
 * the first tenant given. Pure.
 */
export function planWaves<T>(
  tenants: readonly T[],
  options: { growth?: number; maxWave?: number } = {},
): T[][] {
  const growth = Math.max(1, options.growth ?? 2);
  const maxWave = Math.max(1, options.maxWave ?? Number.POSITIVE_INFINITY);
  const waves: T[][] = [];
  let size = 1;
  for (let i = 0; i < tenants.length; ) {
    const take = Math.min(maxWave, Math.max(1, Math.floor(size)));
    waves.push(tenants.slice(i, i + take));
    i += take;
    size *= growth;
  }
  return waves;
}

/** One tenant's health over a window: jobs that ended, how many failed, retries, dead letters. */
export interface HealthSample {
  /** Jobs that ended (succeeded or failed) in the window. */
  finished: number;
  /** Of those, failed; plus jobs that needed more than one delivery (a failed delivery is a failure too). */
  failures: number;
  /** Messages in the tenant's dead-letter queues at the end of the window. */
  deadLetters: number;
  /**
   * Of `finished`, the jobs whose code was the release a wave watches (`job.release`): the evidence that the
   * release ran for the tenant at all. Counted only when a release is asked for (`sampleHealth`).
   */
  onRelease?: number;
}

/**
 * Why a wave's tenant is unhealthy, or undefined when it is not. A tenant is judged against its own
 * baseline (its window before the wave), so a tenant whose jobs always fail some of the time is not
 * blamed on the release: the release is unhealthy when
 * - a message was dead-lettered since the wave began (more dead letters than at its start), or
 * - its failure rate since the wave began exceeds its baseline rate by more than `tolerance` (default
 *   0.1, ten points) with at least `minFailures` (default 1) failures.
 * With no job ended since the wave began there is nothing to judge: healthy. Pure.
 */
export function healthProblem(
  baseline: HealthSample,
  since: HealthSample,
  options: { tolerance?: number; minFailures?: number } = {},
): string | undefined {
  const tolerance = options.tolerance ?? 0.1;
  const minFailures = options.minFailures ?? 1;
  if (since.deadLetters > baseline.deadLetters) {
    return `${since.deadLetters - baseline.deadLetters} new dead letters`;
  }
  if (since.failures < minFailures) return undefined;
  const base = baseline.finished > 0 ? baseline.failures / baseline.finished : 0;
  const rate = since.failures / Math.max(1, since.finished);
  if (rate > base + tolerance) {
    return `failure rate ${percent(rate)} (${since.failures} of ${Math.max(1, since.finished)}) against a baseline of ${percent(base)}`;
  }
  return undefined;
}

function percent(x: number): string {
  return `${Math.round(x * 1000) / 10} %`;
}

/**
 * The error a read of the releases folder `path` failed with: `OperatorPathError` (503
 * `releases_unreadable`, naming the path and what to change) when the path is there but no readable folder,
 * else the error itself (a passing fault such as EMFILE).
 */
export function unreadableReleases(path: string, error: unknown): unknown {
  return pathFault(error)
    ? new OperatorPathError('releases_unreadable', 'releases folder', path, error)
    : error;
}

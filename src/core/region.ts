import { RegionError } from './errors.ts';
import { firstSettingOf, settingOf } from './settings.ts';
import type { Placement } from './tenant.ts';

/** `eu-central-1`, `us-east-1`, or `local`: AWS Region names (and the embedded default's `local`). */
export const REGION_PATTERN = /^(local|[a-z]{2}(-[a-z]+)+-\d)$/;

/**
 * Where a platform can place tenants. `region`: the platform's own (its shared lanes and stores live
 * there). `dedicatedRegions`: the Regions a dedicated tenant's stack may be deployed to (on AWS the
 * platform's and the contract Regions it is configured and granted for, `SILOPOOL_CONTRACT_REGIONS`; only
 * `region` on the embedded backend, whose dedicated lanes run on this machine).
 */
export interface RegionPolicy {
  region: string;
  dedicatedRegions: readonly string[] | 'any';
}

/**
 * The platform's policy from its environment: embedded, one machine, one region (`SILOPOOL_REGION`, default
 * `local`); AWS, `AWS_REGION` and the contract Regions of `SILOPOOL_CONTRACT_REGIONS` (comma-separated).
 * @throws Error naming a contract Region that is no AWS Region name (`*`, `eu-*`, a typo).
 */
export function regionPolicyFromEnv(env: NodeJS.ProcessEnv, backend: 'embedded' | 'aws'): RegionPolicy {
  const region =
    firstSettingOf(env, 'SILOPOOL_REGION', ...(backend === 'aws' ? ['AWS_REGION'] : [])) ?? 'local';
  if (backend === 'embedded') return { region, dedicatedRegions: [region] };
  const contract = (settingOf(env, 'SILOPOOL_CONTRACT_REGIONS') ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  // A wildcard or a typo would otherwise pass unnoticed: the IAM grants name Regions one by one
  // (infra/config.ts checks the same), so a Region not named here is one the platform cannot deploy to.
  const bad = contract.find((r) => !REGION_PATTERN.test(r) || r === 'local');
  if (bad !== undefined) {
    throw new Error(`SILOPOOL_CONTRACT_REGIONS: "${bad}" is not an AWS Region name like eu-west-1.`);
  }
  return { region, dedicatedRegions: [...new Set([region, ...contract])] };
}

/**
 * Throws when a tenant whose contract names `tenantRegion` may not have `placement` (data residency,
 * docs/placement.md "Regions"): shared placement needs the platform's own region (the shared stores are
 * there); dedicated placement a region the backend can deploy to. Pure.
 */
export function checkRegion(
  tenantRegion: string | undefined,
  placement: Placement,
  policy: RegionPolicy,
): void {
  if (tenantRegion === undefined || tenantRegion === policy.region) return;
  if (placement === 'shared') {
    throw new RegionError(
      'region_requires_dedicated',
      `The tenant's contract region ${tenantRegion} is not the platform's (${policy.region}): its data cannot live in the shared stores. Place it dedicated.`,
      tenantRegion,
    );
  }
  const unavailable = dedicatedRegionProblem(tenantRegion, policy);
  if (unavailable !== undefined) throw new RegionError('region_unavailable', unavailable, tenantRegion);
}

/** Why a tenant whose contract names `tenantRegion` cannot be dedicated here, if it cannot. Pure. */
export function dedicatedRegionProblem(
  tenantRegion: string | undefined,
  policy: RegionPolicy,
): string | undefined {
  if (tenantRegion === undefined || tenantRegion === policy.region) return undefined;
  if (policy.dedicatedRegions === 'any' || policy.dedicatedRegions.includes(tenantRegion)) return undefined;
  return `This platform cannot deploy to ${tenantRegion}: its dedicated lanes run in ${policy.dedicatedRegions.join(', ')} only.`;
}

/** Longest Region name echoed back in an error: a crafted value is named, not repeated whole. */
const MAX_ECHOED = 40;

/**
 * The one gate between a Region string and AWS: a stored record's Region (a tenant's contract Region, read
 * back from a table anyone with write access to it could have changed) reaches an SDK client, a bucket
 * name, a queue URL or an ARN only through here. Answers `value` when it is an AWS Region name (lowercase,
 * `xx-name-N`; never `local`, a host name, a path or empty) and one of `allowed` (the platform's Region and
 * its contract Regions, `SILOPOOL_CONTRACT_REGIONS`). Pure.
 * @throws RegionError `region_invalid` (not a Region name) or `region_unavailable` (not one of `allowed`)
 */
export function awsRegion(value: unknown, allowed: readonly string[] | 'any'): string {
  const shown = JSON.stringify(String(value).slice(0, MAX_ECHOED));
  if (typeof value !== 'string' || value === 'local' || !REGION_PATTERN.test(value)) {
    throw new RegionError(
      'region_invalid',
      `The stored Region ${shown} is not an AWS Region name like eu-west-1; nothing was sent to AWS.`,
      String(value).slice(0, MAX_ECHOED),
    );
  }
  if (allowed !== 'any' && !allowed.includes(value)) {
    throw new RegionError(
      'region_unavailable',
      `This platform does not reach ${shown}: its Regions are ${allowed.join(', ')} (SILOPOOL_CONTRACT_REGIONS).`,
      value,
    );
  }
  return value;
}

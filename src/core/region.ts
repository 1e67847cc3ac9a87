import { RegionError } from './errors.ts';
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
  const region = env.SILOPOOL_REGION ?? (backend === 'aws' ? env.AWS_REGION : undefined) ?? 'local';
  if (backend === 'embedded') return { region, dedicatedRegions: [region] };
  const contract = (env.SILOPOOL_CONTRACT_REGIONS ?? '')
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
  if (policy.dedicatedRegions !== 'any' && !policy.dedicatedRegions.includes(tenantRegion)) {
    throw new RegionError(
      'region_unavailable',
      `This platform cannot deploy to ${tenantRegion}: its dedicated lanes run in ${policy.dedicatedRegions.join(', ')} only.`,
      tenantRegion,
    );
  }
}

import type { TenantId } from '../../core/ids.ts';
import { awsRegion, checkRegion, type RegionPolicy } from '../../core/region.ts';
import { BUILTIN_RELEASE, parseReleaseId } from '../../core/release.ts';
import type { Tenant } from '../../core/tenant.ts';
import type { TenantInfrastructure } from '../../ports/tenant-infrastructure.ts';
import type { TenantStackCode } from './tenant-stack.ts';

/** Where a release's tenant template and model code are, in one Region (Lambda code must be local to it). */
export interface ReleaseArtifacts {
  templateUrl: string;
  code: TenantStackCode;
}

export interface ReleaseInfrastructureOptions {
  regions: RegionPolicy;
  /** The stack infrastructure of one Region deploying one release (its CloudFormation client, template, code). */
  create(region: string, artifacts: ReleaseArtifacts): TenantInfrastructure;
  /** The release's artifacts in `region` (`artifactsOf` below is the published layout). */
  artifacts(release: string, region: string): ReleaseArtifacts;
  /** The release a tenant's stack runs: its own (set by the upgrade), else the current one. */
  releaseOf(tenant: Tenant): Promise<string>;
  /** A tenant's contract region, for a removal that names only the tenant. */
  regionOf(tenantId: TenantId): Promise<string | undefined>;
  /**
   * Copies a release's code from the platform's Region into a contract Region's code bucket before a stack
   * is deployed there (`createRegionalCodePublisher`); answers whether it copied. Absent: the copies are
   * assumed published.
   */
  publish?(from: TenantStackCode, to: TenantStackCode, region: string): Promise<boolean>;
}

/**
 * Dedicated tenants' stacks deployed in the Region their contract names, from the template and code of
 * the release they run: one stack infrastructure (and CloudFormation client) per Region and release,
 * made when first needed. A Region the platform cannot deploy to is refused (`checkRegion`).
 */
export function createReleaseInfrastructure(options: ReleaseInfrastructureOptions): TenantInfrastructure {
  const made = new Map<string, TenantInfrastructure>();
  // A stored record's Region becomes a client, a bucket name and a stack only once `awsRegion` passed it.
  const reach = (region: string) => awsRegion(region, options.regions.dedicatedRegions);
  const at = (region: string, release: string) => {
    const key = `${region}/${release}`;
    let infrastructure = made.get(key);
    if (!infrastructure) {
      infrastructure = options.create(region, options.artifacts(release, region));
      made.set(key, infrastructure);
    }
    return infrastructure;
  };
  return {
    speed: 'slow',
    async deploy(tenant, opts) {
      const region = reach(tenant.region ?? options.regions.region);
      checkRegion(tenant.region, 'dedicated', options.regions);
      const release = await options.releaseOf(tenant);
      if (options.publish && region !== options.regions.region) {
        const from = options.artifacts(release, options.regions.region).code;
        const to = options.artifacts(release, region).code;
        if (await options.publish(from, to, region))
          await opts?.report?.(`copied release ${release}'s code to s3://${to.bucket}/${to.key}`);
      }
      return at(region, release).deploy(tenant, opts);
    },
    async remove(tenantId, opts) {
      const region = reach((await options.regionOf(tenantId)) ?? options.regions.region);
      return at(region, BUILTIN_RELEASE).remove(tenantId, opts);
    },
  };
}

/** Where releases are published, beside the platform's template and code (infra/ grants exactly these keys). */
export const RELEASE_LAYOUT = {
  /** Release `r`'s files are under `releases/r/`, in the template's bucket and in the code bucket. */
  prefix: 'releases/',
  template: 'tenant-template.json',
} as const;

/**
 * The published layout of releases beside the platform's own template and code: release `r` of Region
 * `g` is `releases/r/tenant-template.json` next to the platform template, and `releases/r/{code file}`
 * in the code bucket of `g` (`{bucket}` in the platform's Region, `{bucket}-{g}` elsewhere, where the
 * release pipeline replicates it). The built-in release is the platform's own template and code.
 */
export function artifactsOf(
  base: ReleaseArtifacts,
  platformRegion: string,
): (release: string, region: string) => ReleaseArtifacts {
  return (release, region) => {
    const bucket = region === platformRegion ? base.code.bucket : `${base.code.bucket}-${region}`;
    if (release === BUILTIN_RELEASE)
      return { templateUrl: base.templateUrl, code: { bucket, key: base.code.key } };
    // A stored release id becomes a template URL and a code key: `../` would reach another object.
    parseReleaseId(release);
    const file = base.code.key.slice(base.code.key.lastIndexOf('/') + 1);
    const folder = base.templateUrl.slice(0, base.templateUrl.lastIndexOf('/') + 1);
    return {
      templateUrl: `${folder}${RELEASE_LAYOUT.prefix}${release}/${RELEASE_LAYOUT.template}`,
      code: { bucket, key: `${RELEASE_LAYOUT.prefix}${release}/${file}` },
    };
  };
}

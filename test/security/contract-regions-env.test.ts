import { describe, expect, it } from 'vitest';
import { checkRegion, regionPolicyFromEnv } from '../../src/core/region.ts';

// SILOPOOL_CONTRACT_REGIONS is set by the CDK app from a checked config, but also by hand (a local AWS
// run, a support session): a wildcard or a typo there must stop the process, not widen or silently
// narrow where tenants' data may go.
describe('SILOPOOL_CONTRACT_REGIONS', () => {
  it('refuses wildcards, patterns and non-Region names, naming the entry', () => {
    for (const value of ['*', 'eu-*', 'eu-west-1,*', 'EU-WEST-1', 'eu-west-1;us-east-2', 'local', '../x']) {
      expect(
        () => regionPolicyFromEnv({ AWS_REGION: 'us-east-1', SILOPOOL_CONTRACT_REGIONS: value }, 'aws'),
        value,
      ).toThrow(/SILOPOOL_CONTRACT_REGIONS: ".*" is not an AWS Region name/);
    }
  });

  it('reads a list of Region names, spaces and empty entries tolerated', () => {
    const policy = regionPolicyFromEnv(
      { AWS_REGION: 'us-east-1', SILOPOOL_CONTRACT_REGIONS: ' eu-west-1, ,eu-central-1,' },
      'aws',
    );
    expect(policy.dedicatedRegions).toEqual(['us-east-1', 'eu-west-1', 'eu-central-1']);
    expect(() => checkRegion('eu-central-1', 'dedicated', policy)).not.toThrow();
    expect(() => checkRegion('ap-south-1', 'dedicated', policy)).toThrow();
  });
});

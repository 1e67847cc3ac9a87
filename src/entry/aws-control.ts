import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { createAwsAccountQuotas } from '../adapters/aws/account-quotas.ts';
import { awsClientConfig } from '../adapters/aws/client-config.ts';
import { createDynamoRateBuckets } from '../adapters/aws/rate-buckets.ts';
import { createRegionalCodePublisher } from '../adapters/aws/regional-code.ts';
import { createCloudWatchReleaseAlarms } from '../adapters/aws/release-alarms.ts';
import { artifactsOf, createReleaseInfrastructure } from '../adapters/aws/release-infrastructure.ts';
import { createStackInfrastructure } from '../adapters/aws/stack-infrastructure.ts';
import { createDynamoTenantEraser } from '../adapters/aws/tenant-eraser.ts';
import { TENANT_STACK_ENV } from '../adapters/aws/tenant-stack.ts';
import type { MoveDeps } from '../control/placement-move.ts';
import type { TenantId } from '../core/ids.ts';
import { type RegionPolicy, regionPolicyFromEnv } from '../core/region.ts';
import { releaseOf } from '../core/release.ts';
import { firstSettingOf, intSettingOf, settingOf } from '../core/settings.ts';
import { listModels } from '../models/registry.ts';
import { openReleaseCatalog, type ReleaseCatalog } from '../models/release-catalog.ts';
import type { RateBuckets } from '../ports/rate-buckets.ts';
import type { ReleaseAlarms } from '../ports/release-alarms.ts';
import type { TenantInfrastructure } from '../ports/tenant-infrastructure.ts';
import type { AwsPorts } from './aws-wiring.ts';
import { MAX_TIMER_SEC } from './config.ts';

type Env = Record<string, string | undefined>;

/** What the control plane on AWS works with: the ports, plus how a dedicated tenant's resources are made. */
export interface AwsControl {
  deps: Omit<MoveDeps, 'log'>;
  infrastructure?: TenantInfrastructure;
  /** Submit-rate buckets every API process shares, in the control-plane table. */
  rateBuckets: RateBuckets;
  /** The tenant stacks' CloudWatch alarms an upgrade watches between waves (with `stack` provisioning). */
  alarms?: ReleaseAlarms;
  /** The releases in the bundle (`SILOPOOL_RELEASES_DIR`), the current one from the DynamoDB pointer. */
  releases: ReleaseCatalog;
  /** The platform's Region and its contract Regions (`SILOPOOL_CONTRACT_REGIONS`). */
  regions: RegionPolicy;
  close(): void;
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value)
    throw new Error(`Set ${name}: SILOPOOL_PROVISIONING=stack needs it (the platform stack sets it).`);
  return value;
}

/**
 * The control plane's dependencies on AWS. With `stack` provisioning a dedicated tenant is a CloudFormation
 * stack from the published tenant template; otherwise the control plane makes queues and stores itself
 * (emulators) or only checks them (`verify`: stacks deployed by an operator with `cdk deploy`).
 * Kept apart from aws-wiring.ts so the model function's bundle never carries the CloudFormation client.
 */
export function createAwsControl(
  ports: AwsPorts,
  env: Env = process.env,
  queueSettings?: MoveDeps['queueSettings'],
): AwsControl {
  let cloudFormation: CloudFormationClient | undefined;
  let infrastructure: TenantInfrastructure | undefined;
  let closeRegional: (() => void) | undefined;
  const cloudWatch = new Map<string, CloudWatchClient>();
  let alarms: ReleaseAlarms | undefined;
  // The platform's Region and the contract Regions it may deploy to: moves, onboarding and admission check it.
  const regions = regionPolicyFromEnv({ ...env, SILOPOOL_REGION: ports.region }, 'aws');
  // Empty is unset, as on the embedded server: '' was the working folder, read for the model code.
  const releases = openReleaseCatalog(
    settingOf(env, 'SILOPOOL_RELEASES_DIR') ?? 'releases',
    ports.releasePointer,
  );
  if (ports.provisioning === 'stack') {
    const endpoint = firstSettingOf(env, 'AWS_ENDPOINT_URL_CLOUDFORMATION', 'AWS_ENDPOINT_URL');
    cloudFormation = new CloudFormationClient({
      region: ports.region,
      ...(endpoint ? { endpoint } : {}),
      ...awsClientConfig(),
    });
    // Empty read as 0 (a busy loop of DescribeStacks), text as NaN (Node's 1 ms).
    const pollMs = intSettingOf(env, 'SILOPOOL_STACK_POLL_MS', 5000, { min: 1, max: MAX_TIMER_SEC * 1000 });
    const deployerRoleArn = settingOf(env, TENANT_STACK_ENV.deployerRoleArn);
    const base = {
      templateUrl: required(env, TENANT_STACK_ENV.templateUrl),
      code: {
        bucket: required(env, TENANT_STACK_ENV.codeBucket),
        key: required(env, TENANT_STACK_ENV.codeKey),
      },
    };
    // A CloudFormation client per Region: a tenant's stack is deployed where its contract says.
    const clients = new Map<string, CloudFormationClient>([[ports.region, cloudFormation]]);
    const clientOf = (region: string) => {
      let regional = clients.get(region);
      if (!regional) {
        ports.tenantRegions.check(region);
        regional = new CloudFormationClient({
          region,
          ...(endpoint ? { endpoint } : {}),
          ...awsClientConfig(),
        });
        clients.set(region, regional);
      }
      return regional;
    };
    const code = createRegionalCodePublisher({
      s3In: ports.s3In,
      platformRegion: ports.region,
      account: ports.account,
    });
    infrastructure = createReleaseInfrastructure({
      regions,
      artifacts: artifactsOf(base, ports.region),
      publish: code.publish,
      create: (region, artifacts) =>
        createStackInfrastructure({
          client: clientOf(region),
          ...artifacts,
          account: ports.account,
          region,
          platformRegion: ports.region,
          stores: ports.stores,
          pollMs,
          functionsPerStack: listModels().length,
          // Emulators without Lambda's account settings set SILOPOOL_ACCOUNT_QUOTAS=unchecked (docs/aws.md).
          ...(env.SILOPOOL_ACCOUNT_QUOTAS === 'unchecked'
            ? {}
            : {
                quotas: createAwsAccountQuotas({
                  cloudFormation: clientOf(region),
                  region,
                  ...(env.AWS_ENDPOINT_URL_LAMBDA ? { lambdaEndpoint: env.AWS_ENDPOINT_URL_LAMBDA } : {}),
                }),
              }),
          ...(deployerRoleArn ? { deployerRoleArn } : {}),
        }),
      // The pointer is read only for a tenant that follows it: an upgrade's wave deploys tenants at the release
      // in their records, and one over a damaged pointer (the repair its 503 names) failed every deploy.
      releaseOf: async (tenant) =>
        tenant.placement === 'dedicated' && tenant.release
          ? tenant.release
          : releaseOf(tenant, await releases.current()),
      // The stored record's Region, checked before a stack is removed there (`awsRegion`).
      regionOf: async (tenantId) => {
        const region = (await ports.directory.get(tenantId))?.region;
        return region === undefined ? undefined : ports.tenantRegions.check(region);
      },
    });
    // A tenant stack's alarms are in its Region: read there, per Region, with a client of that Region.
    const cloudWatchEndpoint = firstSettingOf(env, 'AWS_ENDPOINT_URL_CLOUDWATCH', 'AWS_ENDPOINT_URL');
    const alarmsIn = (region: string) => {
      let client = cloudWatch.get(region);
      if (!client) {
        ports.tenantRegions.check(region);
        client = new CloudWatchClient({
          region,
          ...(cloudWatchEndpoint ? { endpoint: cloudWatchEndpoint } : {}),
          ...awsClientConfig(),
        });
        cloudWatch.set(region, client);
      }
      return createCloudWatchReleaseAlarms({ client, models: listModels().map((m) => m.name) });
    };
    alarms = {
      async firing(tenantIds) {
        const byRegion = new Map<string, TenantId[]>();
        for (const id of tenantIds) {
          const region = ports.tenantRegions.of(id);
          byRegion.set(region, [...(byRegion.get(region) ?? []), id]);
        }
        const found = await Promise.all([...byRegion].map(([region, ids]) => alarmsIn(region).firing(ids)));
        return found.flat();
      },
    };
    closeRegional = () => {
      for (const c of clients.values()) c.destroy();
      for (const c of cloudWatch.values()) c.destroy();
    };
  }
  return {
    deps: {
      directory: ports.directory,
      queue: ports.queue,
      stores: ports.stores,
      operations: ports.operations,
      ...(ports.usage ? { usage: ports.usage } : {}),
      ...(ports.billing ? { billing: ports.billing } : {}),
      eraser: createDynamoTenantEraser({ client: ports.dynamo, sharedTable: ports.sharedTable }),
      ...(queueSettings ? { queueSettings } : {}),
      ...(infrastructure ? { infrastructure } : {}),
      regions,
    },
    ...(infrastructure ? { infrastructure } : {}),
    ...(alarms ? { alarms } : {}),
    releases,
    regions,
    rateBuckets: createDynamoRateBuckets({
      client: ports.dynamo,
      tableName: ports.tenantsTable,
    }),
    close() {
      closeRegional?.();
    },
  };
}

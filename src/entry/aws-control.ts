import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { createDynamoRateBuckets } from '../adapters/aws/rate-buckets.ts';
import { createStackInfrastructure } from '../adapters/aws/stack-infrastructure.ts';
import { createDynamoTenantEraser } from '../adapters/aws/tenant-eraser.ts';
import { TENANT_STACK_ENV } from '../adapters/aws/tenant-stack.ts';
import type { MoveDeps } from '../control/placement-move.ts';
import type { RateBuckets } from '../ports/rate-buckets.ts';
import type { TenantInfrastructure } from '../ports/tenant-infrastructure.ts';
import type { AwsPorts } from './aws-wiring.ts';

type Env = Record<string, string | undefined>;

/** What the control plane on AWS works with: the ports, plus how a dedicated tenant's resources are made. */
export interface AwsControl {
  deps: Omit<MoveDeps, 'log'>;
  infrastructure?: TenantInfrastructure;
  /** Submit-rate buckets every API process shares, in the control-plane table. */
  rateBuckets: RateBuckets;
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
  if (ports.provisioning === 'stack') {
    const endpoint = env.AWS_ENDPOINT_URL_CLOUDFORMATION ?? env.AWS_ENDPOINT_URL;
    cloudFormation = new CloudFormationClient({ region: ports.region, ...(endpoint ? { endpoint } : {}) });
    const pollMs = Number(env.SILOPOOL_STACK_POLL_MS ?? 5000);
    const deployerRoleArn = env[TENANT_STACK_ENV.deployerRoleArn];
    infrastructure = createStackInfrastructure({
      client: cloudFormation,
      templateUrl: required(env, TENANT_STACK_ENV.templateUrl),
      code: {
        bucket: required(env, TENANT_STACK_ENV.codeBucket),
        key: required(env, TENANT_STACK_ENV.codeKey),
      },
      account: ports.account,
      region: ports.region,
      stores: ports.stores,
      pollMs,
      ...(deployerRoleArn ? { deployerRoleArn } : {}),
    });
  }
  return {
    deps: {
      directory: ports.directory,
      queue: ports.queue,
      stores: ports.stores,
      operations: ports.operations,
      ...(ports.usage ? { usage: ports.usage } : {}),
      eraser: createDynamoTenantEraser({ client: ports.dynamo, sharedTable: ports.sharedTable }),
      ...(queueSettings ? { queueSettings } : {}),
      ...(infrastructure ? { infrastructure } : {}),
    },
    ...(infrastructure ? { infrastructure } : {}),
    rateBuckets: createDynamoRateBuckets({
      client: ports.dynamo,
      tableName: ports.tenantsTable,
    }),
    close() {
      cloudFormation?.destroy();
    },
  };
}

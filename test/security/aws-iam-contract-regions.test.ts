import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { artifactsOf } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV } from '../../src/adapters/aws/tenant-stack.ts';
import { ENV, testConfig } from '../infra/support.ts';

// A platform in us-east-1 configured for eu-west-1 (`contractRegions`): its synthesized control and deployer
// policies, evaluated by an IAM policy simulator, allow a tenant stack, its resources and its code copy in
// eu-west-1, and deny every Region not configured.
const { account } = ENV;
const CONTRACT = 'eu-west-1';
const OTHER = 'ap-south-1';
const DEPLOYER_ARN = `arn:aws:iam::${account}:role/deployer`;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
let resources: Resources;

function resolve(node: unknown): unknown {
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  if (Array.isArray(node)) return node.map(resolve);
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  if ('Ref' in record) return pseudo[String(record.Ref)] ?? `unresolved-${String(record.Ref)}`;
  if ('Fn::Sub' in record)
    return String(record['Fn::Sub']).replace(/\$\{([^}]+)\}/g, (_, name: string) => pseudo[name] ?? name);
  if ('Fn::GetAtt' in record) {
    const [logicalId] = record['Fn::GetAtt'] as string[];
    return logicalId?.startsWith('TenantProvisioningDeployerRole')
      ? DEPLOYER_ARN
      : `arn:aws:unresolved:::${logicalId}`;
  }
  if ('Fn::Join' in record) {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    return parts.map(resolve).join(separator);
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
}

function policyOf(role: string): unknown {
  const statements = Object.entries(resources)
    .filter(
      ([id, r]) =>
        (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && id.startsWith(role),
    )
    .flatMap(
      ([, r]) => (r.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement ?? [],
    );
  return resolve({ Version: '2012-10-17', Statement: statements });
}

async function decide(
  policy: unknown,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${account}:assumed-role/api/t`,
        action,
        resource: { resource, accountId: account },
        contextVariables: context,
      },
      identityPolicies: [{ name: 'role', policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe('contract regions in the IAM policies', () => {
  let api: unknown;
  let deployer: unknown;
  let templateUrl: string;
  let code: { bucket: string; key: string };

  beforeAll(() => {
    const app = new App();
    const config = testConfig({ contractRegions: [CONTRACT] });
    const stack = new PlatformStack(app, 'platform', { env: ENV, config });
    resources = (app.synth().getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
    api = policyOf('ApiRole');
    deployer = policyOf('TenantProvisioningDeployerRole');
    const [, fn] =
      Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('Api'),
      ) ?? [];
    const env = resolve((fn!.Properties!.Environment as { Variables: unknown }).Variables) as Record<
      string,
      string
    >;
    templateUrl = env[TENANT_STACK_ENV.templateUrl] ?? '';
    code = { bucket: env[TENANT_STACK_ENV.codeBucket] ?? '', key: env[TENANT_STACK_ENV.codeKey] ?? '' };
  }, 120_000);

  it('lets the control plane create a tenant stack in a configured Region only', async () => {
    const create = (region: string) =>
      decide(
        api,
        'cloudformation:CreateStack',
        `arn:aws:cloudformation:${region}:${account}:stack/silopool-tenant-t1/1`,
        {
          'cloudformation:TemplateUrl': templateUrl,
          'cloudformation:RoleArn': DEPLOYER_ARN,
        },
      );
    expect(await create(CONTRACT)).toBe('Allowed');
    expect(await create(OTHER)).not.toBe('Allowed');
  });

  it("lets the control plane send to, and settle dead letters of, a tenant's lanes in a configured Region only", async () => {
    for (const [region, expected] of [
      [CONTRACT, 'Allowed'],
      [OTHER, 'ImplicitlyDenied'],
    ] as const) {
      const lane = `arn:aws:sqs:${region}:${account}:tenant_t1_finance`;
      expect(await decide(api, 'sqs:SendMessage', lane)).toBe(expected);
      expect(await decide(api, 'sqs:ReceiveMessage', `${lane}-dlq`)).toBe(expected);
      // A redrive reads, sends back and then deletes: without the delete, a contract Region's dead letter
      // stays behind and runs again on the next redrive.
      expect(await decide(api, 'sqs:DeleteMessage', `${lane}-dlq`)).toBe(expected);
      expect(
        await decide(
          api,
          'dynamodb:PutItem',
          `arn:aws:dynamodb:${region}:${account}:table/silopool-tenant-t1`,
        ),
      ).toBe(expected);
      expect(
        await decide(api, 's3:PutObject', `arn:aws:s3:::silopool-t1-${account}-${region}/tenants/t1/x`),
      ).toBe(expected);
    }
  });

  it("lets the control plane copy bundles into the configured Region's code bucket only", async () => {
    const to = artifactsOf({ templateUrl, code }, ENV.region)('r7', CONTRACT).code;
    expect(to.bucket).toBe(`${code.bucket}-${CONTRACT}`);
    expect(await decide(api, 's3:GetObject', `arn:aws:s3:::${code.bucket}/releases/r7/${code.key}`)).toBe(
      'Allowed',
    );
    expect(await decide(api, 's3:PutObject', `arn:aws:s3:::${to.bucket}/${to.key}`)).toBe('Allowed');
    expect(await decide(api, 's3:CreateBucket', `arn:aws:s3:::${to.bucket}`)).toBe('Allowed');
    expect(await decide(api, 's3:PutObject', `arn:aws:s3:::${code.bucket}-${OTHER}/${to.key}`)).not.toBe(
      'Allowed',
    );
    expect(await decide(api, 's3:PutObject', `arn:aws:s3:::${to.bucket}/other.txt`)).not.toBe('Allowed');
  });

  it("lets the deployer make a tenant's resources and read its code there, and nowhere else", async () => {
    for (const [region, expected] of [
      [CONTRACT, 'Allowed'],
      [OTHER, 'ImplicitlyDenied'],
    ] as const) {
      expect(
        await decide(deployer, 'sqs:CreateQueue', `arn:aws:sqs:${region}:${account}:tenant_t1_finance`),
      ).toBe(expected);
      expect(
        await decide(
          deployer,
          'dynamodb:CreateTable',
          `arn:aws:dynamodb:${region}:${account}:table/silopool-tenant-t1`,
        ),
      ).toBe(expected);
      expect(
        await decide(
          deployer,
          'lambda:CreateFunction',
          `arn:aws:lambda:${region}:${account}:function:silopool-tenant-t1-x`,
        ),
      ).toBe(expected);
      expect(await decide(deployer, 's3:CreateBucket', `arn:aws:s3:::silopool-t1-${account}-${region}`)).toBe(
        expected,
      );
      expect(
        await decide(deployer, 's3:GetObject', `arn:aws:s3:::${code.bucket}-${region}/${code.key}`),
      ).toBe(expected);
    }
  });
});

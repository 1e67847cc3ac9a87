import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { artifactsOf } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV } from '../../src/adapters/aws/tenant-stack.ts';
import { ENV, testConfig } from '../infra/support.ts';
import {
  DEPLOYER_ARN,
  decide,
  resolveTemplateValue,
  rolePolicy,
  type TemplateResources,
} from '../support/iam-simulate.ts';

// A platform in us-east-1 configured for eu-west-1 (`contractRegions`): its synthesized control and deployer
// policies, evaluated by an IAM policy simulator, allow a tenant stack, its resources and its code copy in
// eu-west-1, and deny every Region not configured.
const { account } = ENV;
const CONTRACT = 'eu-west-1';
const OTHER = 'ap-south-1';

let resources: TemplateResources;
const policyOf = (role: string) => rolePolicy(resources, role);

describe('contract regions in the IAM policies', () => {
  let api: unknown;
  let deployer: unknown;
  let templateUrl: string;
  let code: { bucket: string; key: string };

  beforeAll(() => {
    const app = new App();
    const config = testConfig({ contractRegions: [CONTRACT] });
    const stack = new PlatformStack(app, 'platform', { env: ENV, config });
    resources = (app.synth().getStackByName(stack.stackName).template as { Resources: TemplateResources })
      .Resources;
    api = policyOf('ApiRole');
    deployer = policyOf('TenantProvisioningDeployerRole');
    const [, fn] =
      Object.entries(resources).find(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('Api'),
      ) ?? [];
    const env = resolveTemplateValue(
      (fn!.Properties!.Environment as { Variables: unknown }).Variables,
    ) as Record<string, string>;
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

  it("copies bundles into this account's code bucket only: one of its name in another account is refused", async () => {
    // The copy's bucket is made on first use, under a name anyone can take first in an account of their own.
    // Copied there (or its `HeadBucket` answered yes), a bundle would run as the tenant's functions' code.
    const to = artifactsOf({ templateUrl, code }, ENV.region)('r7', CONTRACT).code;
    const elsewhere = { 'aws:ResourceAccount': '999988887777' };
    for (const [action, resource] of [
      ['s3:ListBucket', `arn:aws:s3:::${to.bucket}`],
      ['s3:PutObject', `arn:aws:s3:::${to.bucket}/${to.key}`],
      ['s3:GetObject', `arn:aws:s3:::${to.bucket}/${to.key}`],
    ] as const) {
      expect(await decide(api, action, resource), action).toBe('Allowed');
      expect(await decide(api, action, resource, elsewhere), action).not.toBe('Allowed');
    }
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

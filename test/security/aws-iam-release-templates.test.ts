import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { tenantAlarmNames } from '../../src/adapters/aws/naming.ts';
import { artifactsOf } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV } from '../../src/adapters/aws/tenant-stack.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { ENV, testConfig } from '../infra/support.ts';
import {
  DEPLOYER_ARN,
  decide,
  resolveTemplateValue,
  rolePolicy,
  type TemplateResources,
} from '../support/iam-simulate.ts';

// Which tenant templates the control plane may have CloudFormation deploy: the platform's own and a release's
// (src/adapters/aws/release-infrastructure.ts `artifactsOf`), nothing else. The API role's and the deployer
// role's policies synthesized from infra/, evaluated by an IAM policy simulator (@cloud-copilot/iam-simulate)
// with the condition keys CloudFormation and S3 set for the request.
const { account, region } = ENV;
const STACK_ARN = `arn:aws:cloudformation:${region}:${account}:stack/silopool-tenant-t1/5e2f`;

let resources: TemplateResources;
const policyOf = (role: string) => rolePolicy(resources, role);

function environmentOf(prefix: string): Record<string, string> {
  const [, fn] =
    Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(prefix),
    ) ?? [];
  const environment = fn?.Properties?.Environment as { Variables: unknown } | undefined;
  if (!environment) throw new Error(`No function ${prefix} with an environment in the platform stack`);
  return resolveTemplateValue(environment.Variables) as Record<string, string>;
}

describe('the tenant templates and bundles the control plane may deploy', () => {
  let apiPolicy: unknown;
  let deployerPolicy: unknown;
  let platformUrl: string;
  let codeBucket: string;
  let codeKey: string;
  const release = (id: string) =>
    artifactsOf({ templateUrl: platformUrl, code: { bucket: codeBucket, key: codeKey } }, region)(id, region);
  const createStack = (templateUrl: string, roleArn = DEPLOYER_ARN) =>
    decide(apiPolicy, 'cloudformation:CreateStack', STACK_ARN, {
      'cloudformation:TemplateUrl': templateUrl,
      'cloudformation:RoleArn': roleArn,
    });
  /** The S3 object a template URL of the form `https://s3.{region}.amazonaws.com/{bucket}/{key}` names. */
  const objectOf = (url: string) => `arn:aws:s3:::${new URL(url).pathname.slice(1)}`;

  beforeAll(() => {
    const app = new App();
    const stack = new PlatformStack(app, 'platform', { env: ENV, config: testConfig() });
    resources = (app.synth().getStackByName(stack.stackName).template as { Resources: TemplateResources })
      .Resources;
    apiPolicy = policyOf('ApiRole');
    deployerPolicy = policyOf('TenantProvisioningDeployerRole');
    const env = environmentOf('ApiFunction');
    platformUrl = env[TENANT_STACK_ENV.templateUrl] ?? '';
    codeBucket = env[TENANT_STACK_ENV.codeBucket] ?? '';
    codeKey = env[TENANT_STACK_ENV.codeKey] ?? '';
    expect(platformUrl).toMatch(/^https:\/\/s3\.us-east-1\.amazonaws\.com\/cdk-[\w-]+\/[0-9a-f]{64}\.json$/);
  }, 120_000);

  it("lets it create and update a tenant stack from the platform's template and from a release's", async () => {
    for (const url of [platformUrl, release('2026-11-30.1').templateUrl]) {
      expect(await createStack(url)).toBe('Allowed');
      expect(
        await decide(apiPolicy, 'cloudformation:UpdateStack', STACK_ARN, {
          'cloudformation:TemplateUrl': url,
          'cloudformation:RoleArn': DEPLOYER_ARN,
        }),
      ).toBe('Allowed');
      // CloudFormation reads the template with the caller's permissions.
      expect(await decide(apiPolicy, 's3:GetObject', objectOf(url))).toBe('Allowed');
    }
  });

  it("lets CloudFormation's Lambda calls read a release's bundle with the deployer role", async () => {
    for (const code of [{ bucket: codeBucket, key: codeKey }, release('r7').code])
      expect(await decide(deployerPolicy, 's3:GetObject', `arn:aws:s3:::${code.bucket}/${code.key}`)).toBe(
        'Allowed',
      );
    for (const key of ['other/r7/x.zip', 'releases/r7/tenant-template.json', 'releasesx/r7/b.zip'])
      expect(await decide(deployerPolicy, 's3:GetObject', `arn:aws:s3:::${codeBucket}/${key}`)).not.toBe(
        'Allowed',
      );
  });

  it('refuses any other template: another key or bucket of the same form, another file name, another role', async () => {
    const folder = platformUrl.slice(0, platformUrl.lastIndexOf('/') + 1);
    const bucket = new URL(platformUrl).pathname.split('/')[1] ?? '';
    const others = [
      `${folder}other.json`,
      `${folder}releases/r1/other.json`,
      `${folder}releases-x/r1/tenant-template.json`,
      `${folder}releases/tenant-template.json`,
      platformUrl.replace(bucket, `${bucket}-x`),
      release('r1').templateUrl.replace(bucket, 'attacker-bucket'),
      `https://attacker.example/${bucket}/releases/r1/tenant-template.json`,
    ];
    for (const url of others) {
      expect(`${url} ${await createStack(url)}`).not.toBe(`${url} Allowed`);
      // The last names a release's object on another host: the object itself may be read.
      if (url !== others.at(-1))
        expect(`${url} ${await decide(apiPolicy, 's3:GetObject', objectOf(url))}`).not.toBe(`${url} Allowed`);
    }
    expect(await createStack(release('r1').templateUrl, `arn:aws:iam::${account}:role/admin`)).not.toBe(
      'Allowed',
    );
  });

  it("lets the deployer make a tenant's alarms under the names the upgrade reads, and the control plane read them", async () => {
    const names = tenantAlarmNames('t1' as TenantId, ['finance', 'funds']);
    for (const name of [names.jobFailures, ...Object.values(names.deadLetters)]) {
      const alarm = `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
      expect(await decide(deployerPolicy, 'cloudwatch:PutMetricAlarm', alarm)).toBe('Allowed');
      expect(await decide(apiPolicy, 'cloudwatch:DescribeAlarms', alarm)).toBe('Allowed');
      // Reading is all the control plane does with them.
      expect(await decide(apiPolicy, 'cloudwatch:PutMetricAlarm', alarm)).not.toBe('Allowed');
    }
  });
});

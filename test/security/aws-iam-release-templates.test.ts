import { runSimulation } from '@cloud-copilot/iam-simulate';
import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { tenantAlarmNames } from '../../src/adapters/aws/naming.ts';
import { artifactsOf } from '../../src/adapters/aws/release-infrastructure.ts';
import { TENANT_STACK_ENV } from '../../src/adapters/aws/tenant-stack.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { ENV, testConfig } from '../infra/support.ts';

// Which tenant templates the control plane may have CloudFormation deploy: the platform's own and a release's
// (src/adapters/aws/release-infrastructure.ts `artifactsOf`), nothing else. The API role's and the deployer
// role's policies synthesized from infra/, evaluated by an IAM policy simulator (@cloud-copilot/iam-simulate)
// with the condition keys CloudFormation and S3 set for the request.
const { account, region } = ENV;
const DEPLOYER_ARN = `arn:aws:iam::${account}:role/deployer`;
const STACK_ARN = `arn:aws:cloudformation:${region}:${account}:stack/silopool-tenant-t1/5e2f`;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
let resources: Resources;

/** A template value with pseudo parameters resolved, the deployer role's ARN as DEPLOYER_ARN. */
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

/** A role's identity policy: its inline statements and those CDK moved to an overflow managed policy. */
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

function environmentOf(prefix: string): Record<string, string> {
  const [, fn] =
    Object.entries(resources).find(
      ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(prefix),
    ) ?? [];
  const environment = fn?.Properties?.Environment as { Variables: unknown } | undefined;
  if (!environment) throw new Error(`No function ${prefix} with an environment in the platform stack`);
  return resolve(environment.Variables) as Record<string, string>;
}

async function decide(
  policy: unknown,
  action: string,
  resource: string,
  context: Record<string, string> = {},
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
    resources = (app.synth().getStackByName(stack.stackName).template as { Resources: Resources }).Resources;
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

import { type AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  assumeTenantScope,
  type PolicyDocument,
  tenantSessionPolicy,
} from '../../src/adapters/aws/tenant-scope.ts';
import type { TenantId } from '../../src/core/ids.ts';

interface Request {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

/** IAM glob: `*` any run of characters, `?` one character; everything else literal. */
function glob(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

function conditionHolds(
  operator: string,
  key: string,
  expected: string[],
  context: Request['context'],
): boolean {
  const actual = context[key];
  const values = actual === undefined ? [] : Array.isArray(actual) ? actual : [actual];
  switch (operator) {
    case 'ForAllValues:StringEquals':
      return values.every((v) => expected.includes(v));
    case 'StringEquals':
      return values.length > 0 && values.every((v) => expected.includes(v));
    case 'StringLike':
      return values.length > 0 && values.every((v) => expected.some((p) => glob(p, v)));
    case 'Null':
      return (expected[0] === 'true') === (actual === undefined);
    default:
      throw new Error(`The test evaluator does not know ${operator}`);
  }
}

/** Just enough of IAM's evaluation for session policies: allow if one Allow statement matches in full. */
function allows(policy: PolicyDocument, request: Request): boolean {
  return policy.Statement.some(
    (s) =>
      s.Effect === 'Allow' &&
      s.Action.some((a) => glob(a, request.action)) &&
      s.Resource.some((r) => glob(r, request.resource)) &&
      Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, expected]) =>
          conditionHolds(operator, key, Array.isArray(expected) ? expected : [expected], request.context),
        ),
      ),
  );
}

const table = 'arn:aws:dynamodb:us-east-1:111122223333:table/silopool-shared';
const bucket = 'silopool-shared-objects';
const policyFor = (tenantId: string) =>
  tenantSessionPolicy({ tenantId: tenantId as TenantId, table, bucket });

describe('tenant session policy', () => {
  const a1 = policyFor('a1');

  it('allows the tenant its own partition and prefix', () => {
    expect(
      allows(a1, {
        action: 'dynamodb:Query',
        resource: table,
        context: { 'dynamodb:LeadingKeys': ['T#a1'] },
      }),
    ).toBe(true);
    expect(
      allows(a1, {
        action: 's3:PutObject',
        resource: `arn:aws:s3:::${bucket}/tenants/a1/jobs/j/out.xlsx`,
        context: {},
      }),
    ).toBe(true);
    expect(
      allows(a1, {
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${bucket}`,
        context: { 's3:prefix': 'tenants/a1/jobs/' },
      }),
    ).toBe(true);
  });

  it('denies a1 the items and objects of a1-x', () => {
    const leading = (key: string) => ({ 'dynamodb:LeadingKeys': [key] });
    expect(allows(a1, { action: 'dynamodb:GetItem', resource: table, context: leading('T#a1-x') })).toBe(
      false,
    );
    expect(allows(a1, { action: 'dynamodb:PutItem', resource: table, context: leading('T#a1x') })).toBe(
      false,
    );
    expect(
      allows(a1, {
        action: 'dynamodb:BatchGetItem',
        resource: table,
        context: { 'dynamodb:LeadingKeys': ['T#a1', 'T#a1-x'] },
      }),
    ).toBe(false);
    expect(
      allows(a1, {
        action: 's3:GetObject',
        resource: `arn:aws:s3:::${bucket}/tenants/a1-x/jobs/j/out.xlsx`,
        context: {},
      }),
    ).toBe(false);
    for (const prefix of ['tenants/a1-x/', 'tenants/a1', 'tenants/', '']) {
      expect(
        allows(a1, {
          action: 's3:ListBucket',
          resource: `arn:aws:s3:::${bucket}`,
          context: { 's3:prefix': prefix },
        }),
      ).toBe(false);
    }
  });

  it('denies requests without a partition key (Scan) and actions it does not name', () => {
    expect(allows(a1, { action: 'dynamodb:Scan', resource: table, context: {} })).toBe(false);
    expect(allows(a1, { action: 'dynamodb:Query', resource: table, context: {} })).toBe(false);
    expect(allows(a1, { action: 'dynamodb:DeleteTable', resource: table, context: {} })).toBe(false);
  });

  it('uses exact matches for keys, never a wildcard a1-x could satisfy', () => {
    const text = JSON.stringify(a1);
    expect(text).not.toContain('T#a1*');
    expect(a1.Statement[0]?.Condition?.['ForAllValues:StringEquals']).toEqual({
      'dynamodb:LeadingKeys': ['T#a1'],
    });
    expect(a1.Statement[1]?.Resource).toEqual([`arn:aws:s3:::${bucket}/tenants/a1/*`]);
    // STS limits a packed session policy to 2,048 characters.
    expect(JSON.stringify(policyFor('a'.repeat(63))).length).toBeLessThan(2048);
  });

  it('refuses a tenant id that could widen the policy', () => {
    for (const bad of ['a*', 'a1/..', 'A1', '#a1', '']) expect(() => policyFor(bad)).toThrow();
  });
});

describe('assumeTenantScope', () => {
  it('asks STS for the role with the tenant session policy and a tenant session tag', async () => {
    // fauxqs answers only GetCallerIdentity; AssumeRole is checked at the request the SDK would send.
    const sts = new STSClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    let sent: AssumeRoleCommand['input'] | undefined;
    sts.send = (async (command: AssumeRoleCommand) => {
      sent = command.input;
      return {
        Credentials: {
          AccessKeyId: 'AK',
          SecretAccessKey: 'SK',
          SessionToken: 'ST',
          Expiration: new Date(0),
        },
      };
    }) as unknown as STSClient['send'];
    const roleArn = 'arn:aws:iam::111122223333:role/silopool-tenant';
    const creds = await assumeTenantScope({ sts, roleArn, tenantId: 'a1' as TenantId, table, bucket });
    expect(creds).toEqual({
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      sessionToken: 'ST',
      expiration: new Date(0),
    });
    expect(sent?.RoleArn).toBe(roleArn);
    expect(JSON.parse(sent?.Policy ?? '{}')).toEqual(policyFor('a1'));
    expect(sent?.Tags).toEqual([{ Key: 'TenantId', Value: 'a1' }]);
    expect(sent?.RoleSessionName).toBe('t-a1');
  });
});

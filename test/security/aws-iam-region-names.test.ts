import { App } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { contractRegionTenantStack, ENV, testConfig } from '../infra/support.ts';

// Every statement of every role the platform stack makes (API, control, model lanes, settler,
// notifications, webhooks, deployer), not only the control plane's: a regional ARN names the platform's
// Region or a configured contract Region, never a wildcard or another Region. A grant added later
// with `arn:…:*:…` or a hard-coded Region fails here.
const CONTRACT = 'eu-west-1';
const ALLOWED = new Set([ENV.region, CONTRACT, '', '<AWS::Region>']);

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** An ARN (or a `Resource` node) as text, pseudo parameters and attributes as `<name>`. */
function text(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(text);
  if (!value || typeof value !== 'object') return [String(value)];
  const node = value as Record<string, unknown>;
  if ('Ref' in node) return [`<${String(node.Ref)}>`];
  if ('Fn::GetAtt' in node) return [`<${(node['Fn::GetAtt'] as string[]).join('.')}>`];
  if ('Fn::Join' in node) {
    const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
    return [parts.map((p) => text(p).join('')).join(separator)];
  }
  return Object.values(node).flatMap(text);
}

function statementsOf(resources: Resources): { id: string; arn: string }[] {
  return Object.entries(resources).flatMap(([id, r]) => {
    const docs =
      r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy'
        ? [r.Properties?.PolicyDocument]
        : r.Type === 'AWS::IAM::Role'
          ? ((r.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map(
              (p) => p.PolicyDocument,
            )
          : [];
    return docs.flatMap((doc) =>
      ((doc as { Statement?: { Resource?: unknown }[] })?.Statement ?? []).flatMap((s) =>
        text(s.Resource ?? []).map((arn) => ({ id, arn })),
      ),
    );
  });
}

describe('Regions named by the IAM policies of every platform role', () => {
  let arns: { id: string; arn: string }[];
  beforeAll(() => {
    const app = new App();
    const stack = new PlatformStack(app, 'platform', {
      env: ENV,
      config: testConfig({ contractRegions: [CONTRACT] }),
    });
    const template = app.synth().getStackByName(stack.stackName).template as { Resources: Resources };
    arns = statementsOf(template.Resources);
  }, 120_000);

  it('finds the statements (the check reads something)', () => {
    expect(arns.length).toBeGreaterThan(50);
    expect(arns.some((a) => a.arn.includes(`:${CONTRACT}:`))).toBe(true);
    // Every regional ARN is read (the pseudo parameter of the partition holds colons of its own).
    expect(arns.filter((a) => a.arn.startsWith('arn:<AWS::Partition>:sqs:')).length).toBeGreaterThan(5);
  });

  it('names only the platform Region and the configured contract Regions', () => {
    const wrong = arns.filter(({ arn }) => {
      const m = /^arn:[^:]+:([a-z0-9-]+):([^:]*):/.exec(arn.replaceAll('<AWS::Partition>', 'aws'));
      return m !== null && !ALLOWED.has(m[2]!);
    });
    expect(wrong).toEqual([]);
  });
});

describe("a tenant stack in a contract Region: its role's ARNs", () => {
  const resources = contractRegionTenantStack(CONTRACT) as Resources;
  const arns = statementsOf(resources).map((a) => ({
    ...a,
    arn: a.arn.replaceAll('<AWS::Partition>', 'aws').replaceAll('<AWS::Region>', CONTRACT),
  }));

  it("name its own Region or the platform's, and only its own tenant's resources there", () => {
    expect(arns.length).toBeGreaterThan(3);
    for (const { id, arn } of arns) {
      // `*` (X-Ray) and this stack's own resources (its table, bucket, queues and key, by `GetAtt`).
      if (arn === '*' || /^<[A-Za-z0-9]+\.Arn>/.test(arn)) continue;
      const m = /^arn:aws:([a-z0-9-]+):([^:]*):/.exec(arn);
      expect(m, `${id} ${arn}`).not.toBeNull();
      const region = m![2]!;
      expect([CONTRACT, ENV.region, ''], `${id} ${arn}`).toContain(region);
      // In its own Region a tenant's role reaches its own resources (named after it), nothing of others.
      if (region === CONTRACT) expect(arn, `${id} ${arn}`).toMatch(/globex/);
    }
  });
});

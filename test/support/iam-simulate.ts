import { runSimulation } from '@cloud-copilot/iam-simulate';
import { ENV } from '../infra/support.ts';

/**
 * Synthesized IAM policies evaluated by an IAM policy simulator (@cloud-copilot/iam-simulate): the shared
 * set-up of the security tests that ask what a platform role may do in a given account and Region.
 */
export type TemplateResources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The ARN the deployer role's `Fn::GetAtt` resolves to in these tests. */
export const DEPLOYER_ARN = `arn:aws:iam::${ENV.account}:role/deployer`;

/** A template value with pseudo parameters resolved, the deployer role's ARN as DEPLOYER_ARN. */
export function resolveTemplateValue(node: unknown): unknown {
  const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  if (Array.isArray(node)) return node.map(resolveTemplateValue);
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
    return parts.map(resolveTemplateValue).join(separator);
  }
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolveTemplateValue(v)]));
}

/** A role's identity policy: its inline statements and those CDK moved to an overflow managed policy. */
export function rolePolicy(resources: TemplateResources, role: string): unknown {
  const statements = Object.entries(resources)
    .filter(
      ([id, r]) =>
        (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && id.startsWith(role),
    )
    .flatMap(
      ([, r]) => (r.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement ?? [],
    );
  return resolveTemplateValue({ Version: '2012-10-17', Statement: statements });
}

/** The simulator's overall decision (`Allowed`, `ExplicitlyDenied`, `ImplicitlyDenied`) for one request. */
export async function decide(
  policy: unknown,
  action: string,
  resource: string,
  context: Record<string, string | string[]> = {},
): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ENV.account}:assumed-role/api/t`,
        action,
        resource: { resource, accountId: ENV.account },
        // Every request names the account owning its resource, as AWS's do (this one's unless told).
        contextVariables: { 'aws:ResourceAccount': ENV.account, ...context },
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

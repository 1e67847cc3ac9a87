import { ENV } from '../infra/support.ts';

// Just enough of IAM's policy evaluation to ask a synthesized template "may this role do this?", with
// the template's ARNs resolved to the names CloudFormation would give. An operator the evaluator does
// not know throws: a test never passes on a condition it did not evaluate.

export interface IamRequest {
  action: string;
  resource: string;
  /** Condition keys of the request (`dynamodb:LeadingKeys`, `aws:ResourceTag/…`, `s3:prefix`, …). */
  context?: Record<string, string | string[]>;
}

export interface IamStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface Template {
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
}

export interface Environment {
  account: string;
  region: string;
  /** The stack's name: CloudFormation names unnamed resources `{stack}-{logicalId}-{random}`, lowercased for buckets. */
  stackName: string;
}

/** IAM glob: `*` any run of characters, `?` one character; everything else literal. */
export function glob(pattern: string, value: string, ignoreCase = false): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, ignoreCase ? 'i' : '').test(value);
}

/** Resolves Ref, Fn::GetAtt …Arn, Fn::Join and Fn::If to text as CloudFormation would for this environment. */
export function resolver(template: Template, env: Environment): (node: unknown) => unknown {
  const generated = (id: string) => `${env.stackName}-${id}-1a2b3c4d`;
  const nameOf = (id: string, property: string) => {
    const value = template.Resources[id]?.Properties?.[property];
    return value === undefined ? generated(id) : String(resolve(value));
  };
  const arnOf = (id: string): string => {
    const type = template.Resources[id]?.Type;
    const at = (service: string, rest: string) => `arn:aws:${service}:${env.region}:${env.account}:${rest}`;
    switch (type) {
      case 'AWS::DynamoDB::Table':
        return at('dynamodb', `table/${nameOf(id, 'TableName')}`);
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${nameOf(id, 'BucketName').toLowerCase()}`;
      case 'AWS::SQS::Queue':
        return at('sqs', nameOf(id, 'QueueName'));
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${env.account}:role/${nameOf(id, 'RoleName')}`;
      case 'AWS::KMS::Key':
        return at('kms', 'key/0b4f3c1e-0000-4000-8000-000000000001');
      default:
        return `<${id}.Arn>`;
    }
  };
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': env.region,
    'AWS::AccountId': env.account,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': env.stackName,
  };
  /** A template condition (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) in this environment. */
  function holds(node: unknown): boolean {
    const record = (node ?? {}) as Record<string, unknown>;
    if (typeof record.Condition === 'string') return holds(template.Conditions?.[record.Condition]);
    if (Array.isArray(record['Fn::Equals'])) {
      const [a, b] = (record['Fn::Equals'] as unknown[]).map((x) => JSON.stringify(resolve(x)));
      return a === b;
    }
    if (Array.isArray(record['Fn::Not'])) return !holds((record['Fn::Not'] as unknown[])[0]);
    if (Array.isArray(record['Fn::And'])) return (record['Fn::And'] as unknown[]).every(holds);
    if (Array.isArray(record['Fn::Or'])) return (record['Fn::Or'] as unknown[]).some(holds);
    throw new Error(`unsupported condition ${JSON.stringify(node)}`);
  }
  function resolve(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const record = node as Record<string, unknown>;
    if (typeof record.Ref === 'string') {
      const ref = record.Ref;
      if (ref in pseudo) return pseudo[ref];
      const parameter = template.Parameters?.[ref];
      if (parameter) return parameter.Default === undefined ? `<${ref}>` : String(parameter.Default);
      return generated(ref);
    }
    if (Array.isArray(record['Fn::GetAtt'])) {
      const [id, attribute] = record['Fn::GetAtt'] as [string, string];
      return attribute === 'Arn' ? arnOf(id) : `<${id}.${attribute}>`;
    }
    if (Array.isArray(record['Fn::If'])) {
      const [condition, whenTrue, whenFalse] = record['Fn::If'] as [string, unknown, unknown];
      return resolve(holds(template.Conditions?.[condition]) ? whenTrue : whenFalse);
    }
    if (Array.isArray(record['Fn::Join'])) {
      const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
      return parts.map((part) => String(resolve(part))).join(separator);
    }
    return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, resolve(value)]));
  }
  return resolve;
}

/** Every statement that applies to a role: its inline policies and the AWS::IAM::Policy resources naming it. */
export function roleStatements(template: Template, roleId: string, env: Environment): IamStatement[] {
  const resolve = resolver(template, env);
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role of the template`);
  const inline = (
    (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: unknown[] } }[]
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = Object.values(template.Resources)
    .filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        ((r.Properties?.Roles ?? []) as unknown[]).some((ref) => (ref as { Ref?: string }).Ref === roleId),
    )
    .flatMap((r) => (r.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined)?.Statement ?? []);
  return [...inline, ...attached].map((s) => resolve(s) as IamStatement);
}

function conditionHolds(operator: string, key: string, expected: string[], context: IamRequest['context']) {
  const actual = context?.[key];
  const values = actual === undefined ? [] : [actual].flat();
  const some = (match: (pattern: string, value: string) => boolean) =>
    values.length > 0 && values.every((v) => expected.some((p) => match(p, v)));
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
      return some((p, v) => p === v);
    case 'StringLike':
    case 'ArnLike':
      return some(glob);
    case 'ForAllValues:StringEquals':
      return values.every((v) => expected.includes(v));
    case 'Null':
      return (expected[0] === 'true') === (actual === undefined);
    default:
      throw new Error(`The test evaluator does not know the condition operator ${operator}`);
  }
}

function matches(statement: IamStatement, request: IamRequest): boolean {
  const resources = [statement.Resource ?? []].flat().map(String);
  return (
    [statement.Action].flat().some((a) => glob(a, request.action, true)) &&
    resources.some((r) => glob(r, request.resource)) &&
    Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) =>
        conditionHolds(operator, key, [expected].flat().map(String), request.context),
      ),
    )
  );
}

/**
 * Identity-policy evaluation: allowed when an Allow statement matches in full and no Deny does. Every
 * request names the account that owns its resource (`aws:ResourceAccount`), as AWS's do: the test
 * account's unless the request says another (a bucket of the same name in another account).
 */
export function allows(statements: IamStatement[], request: IamRequest): boolean {
  const owned = { ...request, context: { 'aws:ResourceAccount': ENV.account, ...request.context } };
  const applying = statements.filter((s) => matches(s, owned));
  return applying.some((s) => s.Effect === 'Allow') && !applying.some((s) => s.Effect === 'Deny');
}

import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** An empty zip: moto's Lambda keeps a function's code without running it. */
export const EMPTY_ZIP = Buffer.from(`PK\x05\x06${'\0'.repeat(18)}`, 'binary');

/**
 * The tenant template synthesized from infra/, as JSON for moto 5.2, marked with `release` (an output
 * `Release`, so a stack shows which release's template it runs): its KMS key without Tags (moto's KMS handler
 * crashes on them, `KeyError: 'TagKey'`) and its event source mappings disabled (moto hands each message sent
 * to the queue to a Lambda it cannot run without Docker and puts it back, a receive counted against
 * maxReceiveCount that ran nothing; the tests' own function host consumes the queues).
 */
export function motoTenantTemplate(models: readonly string[], release?: string): string {
  const template = synthesizeTenantTemplate([...models]) as {
    Resources: Resources;
    Outputs?: Record<string, unknown>;
  };
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type === 'AWS::KMS::Key') delete resource.Properties?.Tags;
    if (resource.Type === 'AWS::Lambda::EventSourceMapping' && resource.Properties)
      resource.Properties.Enabled = false;
  }
  if (release) template.Outputs = { ...template.Outputs, Release: { Value: release } };
  return JSON.stringify(template);
}

/**
 * A user with one inline policy and an access key, made with three IAM calls in moto's unchecked phase
 * (`startMoto({ enforceIamAfter })`), which need no signature, only the service in the credential scope.
 */
export async function createMotoUser(
  endpoint: string,
  name: string,
  statements: unknown[],
  region = 'us-east-1',
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = async (params: Record<string, string>) => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=bootstrap/20260101/${region}/iam/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: new URLSearchParams({ Version: '2010-05-08', ...params }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`IAM ${params.Action}: ${res.status} ${text}`);
    return text;
  };
  const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(xml)?.[1] ?? '';
  await iam({ Action: 'CreateUser', UserName: name });
  await iam({
    Action: 'PutUserPolicy',
    UserName: name,
    PolicyName: 'role',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
  });
  const key = await iam({ Action: 'CreateAccessKey', UserName: name });
  return { accessKeyId: xmlValue(key, 'AccessKeyId'), secretAccessKey: xmlValue(key, 'SecretAccessKey') };
}

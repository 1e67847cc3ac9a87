import { PutObjectCommand } from '@aws-sdk/client-s3';
import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';
import { listModels } from '../../src/models/registry.ts';
import type { AwsEmulators } from './aws-emulators.ts';
import { type CloudFormationEmulator, startCloudFormationEmulator } from './cloudformation-emulator.ts';

export interface TenantStacks {
  cfn: CloudFormationEmulator;
  /** The tenant template synthesized from `infra/`, as `npm run synth` publishes it. */
  template: { Resources: Record<string, { Type: string }> };
  /** Where it was uploaded on the S3 emulator: `SILOPOOL_TENANT_TEMPLATE_URL`. */
  templateUrl: string;
  /** The release bucket it lives in (also usable as the model code's bucket). */
  releases: string;
}

/**
 * A CloudFormation emulator over the SQS/S3/DynamoDB emulators, with the tenant template synthesized
 * from the CDK app and uploaded as the platform stack would publish it.
 */
export async function startTenantStacks(
  aws: AwsEmulators,
  options: { account: string; region: string; delayMs?: number },
): Promise<TenantStacks> {
  const cfn = await startCloudFormationEmulator({ sqs: aws.sqs, s3: aws.s3, dynamo: aws.dynamo, ...options });
  const releases = await aws.createBucket('releases');
  const template = synthesizeTenantTemplate(listModels().map((m) => m.name)) as TenantStacks['template'];
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: releases,
      Key: 'tenant.template.json',
      Body: JSON.stringify(template),
      ContentType: 'application/json',
    }),
  );
  return { cfn, template, releases, templateUrl: `${aws.endpoints.s3}/${releases}/tenant.template.json` };
}

import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';
import { listModels } from '../../src/models/registry.ts';
import type { AwsEmulators } from './aws-emulators.ts';
import { type CloudFormationEmulator, startCloudFormationEmulator } from './cloudformation-emulator.ts';
import { EMPTY_ZIP, motoTenantTemplate } from './moto-stacks.ts';
import { type TestServer, waitForJob } from './server.ts';

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

/** What a release publishes for moto's CloudFormation, and a client of it. */
export interface MotoTenantRelease {
  cfn: CloudFormationClient;
  releases: string;
  /** The template's URL in S3's virtual-hosted form, the one moto reads. */
  templateUrl: string;
  /** The model functions' code: an empty zip (moto's Lambda keeps a function's code, never runs it). */
  code: { bucket: string; key: string };
}

/**
 * Publishes the tenant template synthesized from `infra/` and an empty model zip to a release bucket on
 * moto, as moto can take it (`motoTenantTemplate`: its KMS key without Tags, its event source mappings
 * disabled).
 */
export async function publishMotoTenantRelease(
  aws: AwsEmulators,
  region: string,
): Promise<MotoTenantRelease> {
  const releases = await aws.createBucket('releases');
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: releases,
      Key: 'tenant.template.json',
      Body: motoTenantTemplate(listModels().map((m) => m.name)),
    }),
  );
  await aws.s3.send(new PutObjectCommand({ Bucket: releases, Key: 'model.zip', Body: EMPTY_ZIP }));
  const cfn = new CloudFormationClient({
    endpoint: aws.endpoints.s3,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return {
    cfn,
    releases,
    templateUrl: `https://${releases}.s3.amazonaws.com/tenant.template.json`,
    code: { bucket: releases, key: 'model.zip' },
  };
}

/** Submits a finance job (`revenue`) and waits for it: it must be accepted and succeed within 30 s. */
export async function runFinanceJob(
  server: TestServer,
  apiKey: string,
  revenue: number,
): Promise<{ id: string; job: { status: string; artifacts: { url: string }[] } }> {
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: JSON.stringify({ input: { revenue } }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const job = (await waitForJob(server, apiKey, id, { timeoutMs: 30_000 })) as {
    status: string;
    artifacts: { url: string }[];
  };
  expect(job.status).toBe('succeeded');
  return { id, job };
}

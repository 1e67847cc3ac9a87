import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegionalCodePublisher } from '../../src/adapters/aws/regional-code.ts';
import { createAwsStoreProvider } from '../../src/adapters/aws/stores.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { motoAvailable } from '../support/moto.ts';

// Bucket names are global: a dedicated tenant's bucket (silopool-…-{account}-{region}) or a contract
// Region's code copy ({bucket}-{region}) may be made first in another account. Every S3 request on them
// names the platform's account as the owner (ExpectedBucketOwner), so S3 itself refuses another
// account's bucket. No emulator here enforces it (moto 5.2 and fauxqs answer as if it were absent: the
// last test shows moto's), so these tests record each request the SDK sends to moto and check the header.

const ACCOUNT = '111122223333';
const HEADER = 'x-amz-expected-bucket-owner';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let aws: AwsEmulators;
beforeAll(async () => {
  if (motoAvailable()) aws = await startAwsEmulators({ backend: 'moto' });
}, 60_000);
afterAll(async () => {
  await aws?.stop();
});

interface Sent {
  command: string;
  bucket: string;
  owner: string | undefined;
}

/** An S3 client on moto that records every request it sends: the command, its bucket and the owner header. */
function recordingS3(region: string, sent: Sent[]): S3Client {
  const client = new S3Client({ endpoint: aws.endpoints.s3, region, credentials, forcePathStyle: true });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      sent.push({
        command: String(context.commandName),
        bucket: String((args.input as { Bucket?: string }).Bucket),
        owner: request.headers[HEADER],
      });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordExpectedOwner' },
  );
  return client;
}

/** CreateBucket takes no expected owner: a name another account holds fails it (BucketAlreadyExists). */
const owned = (sent: Sent[]) => sent.filter((s) => s.command !== 'CreateBucketCommand');

describe.skipIf(!motoAvailable())(
  "S3 requests on buckets named by pattern name the platform's account",
  () => {
    it("the contract Region's code copy: HeadBucket, HeadObject, GetObject and PutObject", async () => {
      const sent: Sent[] = [];
      const platform = `code-${Math.random().toString(36).slice(2, 10)}`;
      await aws.s3.send(new CreateBucketCommand({ Bucket: platform }));
      await aws.s3.send(new PutObjectCommand({ Bucket: platform, Key: 'bundle.zip', Body: 'zip' }));
      const code = createRegionalCodePublisher({
        s3In: (region) => recordingS3(region, sent),
        platformRegion: 'us-east-1',
        account: ACCOUNT,
      });
      const copy = { bucket: `${platform}-eu-west-1`, key: 'bundle.zip' };
      expect(await code.publish({ bucket: platform, key: 'bundle.zip' }, copy, 'eu-west-1')).toBe(true);
      expect(new Set(owned(sent).map((s) => s.command))).toEqual(
        new Set(['HeadBucketCommand', 'HeadObjectCommand', 'GetObjectCommand', 'PutObjectCommand']),
      );
      for (const s of owned(sent)) expect(s, `${s.command} ${s.bucket}`).toMatchObject({ owner: ACCOUNT });
    });

    it("a dedicated tenant's bucket: provisioning, objects, emptying and deleting", async () => {
      const sent: Sent[] = [];
      const tenantId = parseTenantId(`own${Math.random().toString(36).slice(2, 8)}`);
      const ref = { kind: 'dedicated', tenantId } as const;
      const options = {
        dynamo: aws.dynamo,
        s3: recordingS3('us-east-1', sent),
        sharedTable: await aws.createTable('jobs'),
        sharedBucket: await aws.createBucket('objects'),
        account: ACCOUNT,
        region: 'us-east-1',
      };
      const created = createAwsStoreProvider({ ...options, provisioning: 'create' });
      await created.provision(ref);
      const objects = created.objects(ref);
      const key = `tenants/${tenantId}/jobs/j1/workbook.xlsx`;
      await objects.put(key, new Uint8Array([1, 2, 3]), 'application/octet-stream');
      expect((await objects.get(key))?.size).toBe(3);
      expect((await objects.list(`tenants/${tenantId}/`)).items).toHaveLength(1);
      // The control plane empties a stack-owned bucket before its stack is deleted (emptyBucket).
      await createAwsStoreProvider({ ...options, provisioning: 'stack' }).destroy(ref);
      expect((await objects.list(`tenants/${tenantId}/`)).items).toHaveLength(0);
      await objects.put(key, new Uint8Array([4]), 'application/octet-stream');
      await objects.delete(key);
      await created.destroy(ref);

      const commands = new Set(owned(sent).map((s) => s.command));
      for (const command of [
        'HeadBucketCommand',
        'PutObjectCommand',
        'GetObjectCommand',
        'ListObjectsV2Command',
        'DeleteObjectCommand',
        'DeleteObjectsCommand',
        'ListObjectVersionsCommand',
        'DeleteBucketCommand',
      ])
        expect(commands, command).toContain(command);
      for (const s of owned(sent)) expect(s, `${s.command} ${s.bucket}`).toMatchObject({ owner: ACCOUNT });
    });

    it('moto does not enforce ExpectedBucketOwner (why the tests above check the requests sent)', async () => {
      // If this fails, moto enforces it now: test the refusal itself against it instead.
      const bucket = await aws.createBucket('other');
      const s3 = recordingS3('us-east-1', []);
      await expect(
        s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x', ExpectedBucketOwner: '999999999999' }),
        ),
      ).resolves.toBeDefined();
    });
  },
);

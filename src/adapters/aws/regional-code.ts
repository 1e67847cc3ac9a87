import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { TenantStackCode } from './tenant-stack.ts';

export interface RegionalCodeOptions {
  /** S3 in a Region: the platform's to read the bundle, the contract Region's to write its copy. */
  s3In(region: string): S3Client;
  platformRegion: string;
  /**
   * The platform's account: every request names it as the bucket's owner (`ExpectedBucketOwner`), so a
   * `{bucket}-{region}` made first in another account is refused by S3, never taken as the code copy.
   */
  account: string;
}

/**
 * Copies model bundles into contract Regions: Lambda reads a function's code only from a bucket of its own
 * Region, so a stack in a contract Region runs the copy of its release's bundle kept in `{bucket}-{region}`
 * (`artifactsOf`, src/adapters/aws/release-infrastructure.ts). `publish(from, to, region)` makes that bucket
 * the first time and copies the bundle unless it is already there: bundles are immutable (the platform's key
 * is its content hash, a release's is under its own id), so a present copy is the right one. Idempotent.
 */
export function createRegionalCodePublisher(options: RegionalCodeOptions) {
  const made = new Set<string>();
  const owner = { ExpectedBucketOwner: options.account };

  async function exists(check: () => Promise<unknown>, missing: string[]): Promise<boolean> {
    try {
      await check();
      return true;
    } catch (error) {
      const name = (error as Error).name;
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (missing.includes(name) || status === 404) return false;
      throw error;
    }
  }

  async function ensureBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
    if (made.has(bucket)) return;
    if (
      !(await exists(
        () => s3.send(new HeadBucketCommand({ Bucket: bucket, ...owner })),
        ['NotFound', 'NoSuchBucket'],
      ))
    ) {
      // us-east-1 takes no location constraint; every other Region needs its own.
      const location =
        region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } };
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
      } catch (error) {
        // Another control process made it meanwhile. (`BucketAlreadyExists`, another account's, is thrown.)
        if ((error as Error).name !== 'BucketAlreadyOwnedByYou') throw error;
      }
    }
    made.add(bucket);
  }

  return {
    /** Copies `from` (in the platform's Region) to `to` (in `region`); answers whether it copied. */
    async publish(from: TenantStackCode, to: TenantStackCode, region: string): Promise<boolean> {
      if (region === options.platformRegion) return false;
      const target = options.s3In(region);
      await ensureBucket(target, to.bucket, region);
      const present = await exists(
        () => target.send(new HeadObjectCommand({ Bucket: to.bucket, Key: to.key, ...owner })),
        ['NotFound', 'NoSuchKey'],
      );
      if (present) return false;
      const source = await options
        .s3In(options.platformRegion)
        .send(new GetObjectCommand({ Bucket: from.bucket, Key: from.key, ...owner }));
      if (!source.Body) throw new Error(`The bundle s3://${from.bucket}/${from.key} is empty.`);
      // Bundles are a few MB (docs/benchmarks.md, "Lambda bundles"): one PutObject.
      const body = await source.Body.transformToByteArray();
      await target.send(
        new PutObjectCommand({
          Bucket: to.bucket,
          Key: to.key,
          ...owner,
          Body: body,
          ...(source.ContentType ? { ContentType: source.ContentType } : {}),
        }),
      );
      return true;
    },
  };
}

export type RegionalCodePublisher = ReturnType<typeof createRegionalCodePublisher>;

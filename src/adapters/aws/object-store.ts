import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectPage, ObjectStore, StoredObject } from '../../ports/object-store.ts';

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /**
   * The account the bucket must belong to (`ExpectedBucketOwner` on every request): S3 refuses a request to
   * a bucket of that name owned by another account, as a bucket named by pattern may be (bucket names are
   * global; src/adapters/aws/naming.ts).
   */
  expectedOwner?: string;
}

/** ObjectStore on one S3 bucket; tenants' objects live under `tenants/{tenantId}/` (see `scopeObjects`). */
export function createS3ObjectStore({
  client,
  bucket: name,
  expectedOwner,
}: S3ObjectStoreOptions): ObjectStore {
  const at = { Bucket: name, ...(expectedOwner ? { ExpectedBucketOwner: expectedOwner } : {}) };
  return {
    async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
      await client.send(new PutObjectCommand({ ...at, Key: key, Body: body, ContentType: contentType }));
    },

    async get(key: string): Promise<StoredObject | undefined> {
      try {
        const out = await client.send(new GetObjectCommand({ ...at, Key: key }));
        const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
        return {
          body,
          contentType: out.ContentType ?? 'application/octet-stream',
          size: body.byteLength,
        };
      } catch (error) {
        if ((error as Error).name === 'NoSuchKey' || (error as Error).name === 'NotFound') return undefined;
        throw error;
      }
    },

    async list(prefix: string, options?: { cursor?: string; limit?: number }): Promise<ObjectPage> {
      const out = await client.send(
        new ListObjectsV2Command({
          ...at,
          Prefix: prefix,
          MaxKeys: Math.min(1000, Math.max(1, options?.limit ?? 1000)),
          ...(options?.cursor ? { ContinuationToken: options.cursor } : {}),
        }),
      );
      return {
        items: (out.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0 })),
        ...(out.IsTruncated && out.NextContinuationToken ? { nextCursor: out.NextContinuationToken } : {}),
      };
    },

    async delete(key: string): Promise<void> {
      await client.send(new DeleteObjectCommand({ ...at, Key: key }));
    },
  };
}

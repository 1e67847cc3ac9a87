import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { TenantId } from '../../core/ids.ts';
import { fullBucket, type TakeResult, take } from '../../core/token-bucket.ts';
import type { RateBuckets } from '../../ports/rate-buckets.ts';
import { putIfAbsent, putIfVersion } from './conditional-put.ts';

/** Compare-and-set rounds before a submit is refused as contended (its tenant is submitting very fast). */
const MAX_ATTEMPTS = 8;
/** An idle tenant's bucket item expires (it would be full again anyway). */
const IDLE_TTL_SEC = 86_400;

/**
 * Token buckets in the control-plane table, one item per tenant (`RATE#{tenantId}` / `BUCKET`): read
 * consistently, take with the core arithmetic, write back only if nobody else wrote since (version).
 * A refusal writes nothing: the refill is a function of the stored time. The item names the tenant incarnation
 * it counts for; another incarnation's (the id's predecessor's) counts as no item.
 */
export function createDynamoRateBuckets(options: {
  client: DynamoDBDocumentClient;
  tableName: string;
}): RateBuckets {
  const { client, tableName } = options;
  return {
    async take(tenantId: TenantId, limits, nowMs, incarnation): Promise<TakeResult> {
      const key = { pk: `RATE#${tenantId}`, sk: 'BUCKET' };
      let last: TakeResult | undefined;
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const out = await client.send(
          new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
        );
        const stored = out.Item as
          | { tokens: number; atMs: number; version: number; incarnation?: string }
          | undefined;
        // The item outlives an offboarding (until it expires): a predecessor's bucket is not this tenant's.
        const own = stored && (incarnation === undefined || stored.incarnation === incarnation);
        last = take(
          own ? { tokens: stored.tokens, atMs: stored.atMs } : fullBucket(limits, nowMs),
          limits,
          nowMs,
        );
        if (!last.allowed) return last;
        const item = {
          ...key,
          tokens: last.bucket.tokens,
          atMs: last.bucket.atMs,
          version: (stored?.version ?? 0) + 1,
          ...(incarnation !== undefined ? { incarnation } : {}),
          expiresAt: Math.floor(nowMs / 1000) + IDLE_TTL_SEC,
        };
        const written = stored
          ? await putIfVersion(client, tableName, item, stored.version)
          : await putIfAbsent(client, tableName, item);
        if (written) return last;
      }
      // Many processes took from this bucket at once: the tenant is at its rate, let it retry shortly.
      return { ...(last as TakeResult), allowed: false, remaining: 0, retryAfterSec: 1, resetSec: 1 };
    },
  };
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isTenantId, type TenantId } from '../../core/ids.ts';
import type { ApiKeyRecord } from '../../core/tenant.ts';

/**
 * Tenant API keys look like `sp_{tenantId}_{secret}`. The tenant id in the key lets us find the one
 * tenant item to check against (a single-item read on DynamoDB); `_` cannot occur in tenant ids.
 */
const API_KEY = /^sp_([a-z0-9][a-z0-9-]{1,62})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(tenantId: TenantId, now = new Date()): { key: string; record: ApiKeyRecord } {
  const secret = randomBytes(32).toString('base64url');
  const key = `sp_${tenantId}_${secret}`;
  return {
    key,
    record: { id: randomBytes(6).toString('hex'), hash: hashApiKey(key), createdAt: now.toISOString() },
  };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function parseApiKey(token: string): { tenantId: TenantId } | undefined {
  const match = API_KEY.exec(token);
  if (!match || !isTenantId(match[1])) return undefined;
  return { tenantId: match[1] };
}

export function findMatchingKey(records: readonly ApiKeyRecord[], key: string): ApiKeyRecord | undefined {
  const hash = Buffer.from(hashApiKey(key), 'hex');
  return records.find((r) => {
    const stored = Buffer.from(r.hash, 'hex');
    return stored.length === hash.length && timingSafeEqual(stored, hash);
  });
}

import { type ApiKeyView, apiKeyView, isKeyLive, newApiKey } from '../core/api-keys.ts';
import { NotFoundError, ValidationError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { ApiKeyRecord, Tenant } from '../core/tenant.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { retryOnConflict } from './conflicts.ts';

/** Longest grace period of a rotation, seconds: the old key must not become a second permanent one. */
export const MAX_ROTATION_GRACE_SEC = 7 * 86_400;

/** The tenant's working keys (id, prefix, dates; never the hash), oldest first. Throws NotFoundError. */
export async function listApiKeys(deps: { directory: TenantDirectory }, id: TenantId): Promise<ApiKeyView[]> {
  const tenant = await deps.directory.get(id);
  if (!tenant) throw new NotFoundError(`Tenant "${id}"`);
  return tenant.apiKeys.filter((k) => isKeyLive(k)).map((k) => apiKeyView(k, id));
}

/** Removes key `keyId` from the tenant record: the next request with it answers 401. Throws NotFoundError. */
export async function revokeApiKey(
  deps: { directory: TenantDirectory },
  id: TenantId,
  keyId: string,
): Promise<void> {
  await changeKeys(deps.directory, id, (keys) => {
    liveKey(keys, id, keyId);
    return keys.filter((k) => k.id !== keyId);
  });
}

/**
 * Issues a new key in place of `keyId`. The old key stops at once, or after `graceSec` seconds
 * (0..MAX_ROTATION_GRACE_SEC) so clients can switch over. The new key is shown once. Throws NotFoundError,
 * or ValidationError naming `/graceSeconds`.
 */
export async function rotateApiKey(
  deps: { directory: TenantDirectory },
  id: TenantId,
  keyId: string,
  graceSec = 0,
): Promise<{ apiKey: string; key: ApiKeyView; replaced: ApiKeyView & { revoked: boolean } }> {
  if (!Number.isInteger(graceSec) || graceSec < 0 || graceSec > MAX_ROTATION_GRACE_SEC) {
    throw new ValidationError([
      {
        path: '/graceSeconds',
        message: `must be a whole number of seconds from 0 to ${MAX_ROTATION_GRACE_SEC}`,
        rule: 'maximum',
      },
    ]);
  }
  const now = new Date();
  const fresh = newApiKey(id, now);
  let replaced: { record: ApiKeyRecord; revoked: boolean } | undefined;
  await changeKeys(deps.directory, id, (keys) => {
    const old = liveKey(keys, id, keyId);
    const kept = keys.filter((k) => k.id !== keyId);
    if (graceSec <= 0) {
      replaced = { record: old, revoked: true };
      return [...kept, fresh.record];
    }
    const end = now.getTime() + graceSec * 1000;
    // A key already in a grace period never gets a longer one.
    const endsAt = old.expiresAt ? Math.min(end, Date.parse(old.expiresAt)) : end;
    replaced = { record: { ...old, expiresAt: new Date(endsAt).toISOString() }, revoked: false };
    return [...kept, replaced.record, fresh.record];
  });
  const { record, revoked } = replaced!;
  return {
    apiKey: fresh.key,
    key: apiKeyView(fresh.record, id),
    replaced: { ...apiKeyView(record, id), revoked },
  };
}

function liveKey(keys: readonly ApiKeyRecord[], id: TenantId, keyId: string): ApiKeyRecord {
  const key = keys.find((k) => k.id === keyId && isKeyLive(k));
  if (!key) throw new NotFoundError(`API key "${keyId}" of tenant "${id}"`);
  return key;
}

/** Compare-and-set on the tenant's keys, retried when another writer got there first; drops expired keys. */
async function changeKeys(
  directory: TenantDirectory,
  id: TenantId,
  change: (keys: ApiKeyRecord[]) => ApiKeyRecord[],
): Promise<Tenant> {
  return retryOnConflict(async () => {
    const current = await directory.get(id);
    if (!current) throw new NotFoundError(`Tenant "${id}"`);
    const apiKeys = change(current.apiKeys.filter((k) => isKeyLive(k)));
    return directory.update(
      { ...current, apiKeys, version: current.version + 1, updatedAt: new Date().toISOString() },
      current.version,
    );
  });
}

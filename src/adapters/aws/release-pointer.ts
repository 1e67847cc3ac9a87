import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../core/errors.ts';
import { BUILTIN_RELEASE } from '../../core/release.ts';
import { type ReleasePointer, storedReleaseId } from '../../ports/release-pointer.ts';
import { putIfAbsent, putIfVersion, putIfVersionDamaged } from './conditional-put.ts';

/**
 * The pointer's key in the tenant views table. `RELEASE#` is no tenant view's prefix (`TENANT#{id}`), so no
 * tenant's `dynamodb:LeadingKeys` grant names it by accident; the roles that read it are granted it by name
 * (infra/platform-stack.ts, infra/tenant-grants.ts).
 */
export const RELEASE_POINTER_KEY = { pk: 'RELEASE#current', sk: 'POINTER' } as const;

export interface DynamoReleasePointerOptions {
  client: DynamoDBDocumentClient;
  /** The tenant views table: every function role may already read from it (src/adapters/aws/tenant-views.ts). */
  tableName: string;
  /**
   * How long a read is reused (ms; default 5000): every submit and every job asks, and another process's
   * change is seen within this long. `setCurrent` updates this process's copy at once.
   */
  cacheMs?: number;
  now?(): number;
}

interface PointerItem {
  releaseId?: unknown;
  version?: unknown;
}

/**
 * The current release as one DynamoDB item (`RELEASE_POINTER_KEY`: `releaseId`, `since`, `version`), for
 * AWS, where the releases folder is inside the read-only Lambda bundle. Writes are compare-and-set on
 * `version` (created with `attribute_not_exists`), retried on a lost race: two writers never interleave
 * half an update, the last to commit wins, and `version` counts every change.
 */
export function createDynamoReleasePointer(options: DynamoReleasePointerOptions): ReleasePointer {
  const { client, tableName } = options;
  const cacheMs = options.cacheMs ?? 5000;
  const now = options.now ?? Date.now;
  /**
   * The newest pointer this process knows, by `version` (every change counts it): an answer that was on its
   * way when this one was kept (a read overlapping this process's own change or a newer read, the answer to
   * the older of two of its own puts) never replaces a newer one. One asked after it was kept always does
   * (the item deleted and made anew starts its versions again).
   */
  let cached: { id: string; version: number; at: number; keptAt: number } | undefined;
  /** Orders the asking of answers and the keeping of them. */
  let tick = 0;
  const keep = (id: string, version: number, askedAt: number): string => {
    if (cached && version < cached.version && askedAt < cached.keptAt) return cached.id;
    cached = { id, version, at: now(), keptAt: ++tick };
    return id;
  };

  async function read(): Promise<PointerItem | undefined> {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: RELEASE_POINTER_KEY, ConsistentRead: true }),
    );
    return Item as PointerItem | undefined;
  }

  return {
    async current() {
      if (cached && now() - cached.at < cacheMs) return cached.id;
      const askedAt = ++tick;
      const item = await read();
      // No item: nothing was ever made current. An item whose releaseId is no release id is damaged, and
      // says so (it read as `builtin`, moving every unpinned tenant to other code, silently).
      const id = item
        ? storedReleaseId(
            item.releaseId,
            `item ${RELEASE_POINTER_KEY.pk} in table ${tableName}`,
            '`releaseId`',
          )
        : BUILTIN_RELEASE;
      return keep(id, typeof item?.version === 'number' ? item.version : 0, askedAt);
    },
    async setCurrent(id) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const item = await read();
        const version = typeof item?.version === 'number' ? item.version : undefined;
        const next = {
          ...RELEASE_POINTER_KEY,
          releaseId: id,
          since: new Date(now()).toISOString(),
          version: (version ?? 0) + 1,
        };
        const askedAt = ++tick;
        // An item whose `version` is no number (changed by hand) is replaced, not taken for no item: put-if-absent
        // failed on it ten times and the rollout that was to repair the pointer answered 409.
        const written = !item
          ? await putIfAbsent(client, tableName, next)
          : version === undefined
            ? await putIfVersionDamaged(client, tableName, next)
            : await putIfVersion(client, tableName, next, version);
        if (written) {
          keep(id, next.version, askedAt);
          return;
        }
      }
      throw new ConflictError('The release pointer changed ten times while it was being set; try again.');
    },
  };
}

import type { JobId } from '../core/ids.ts';
import { cursorList, decodePageCursor, encodePageCursor, invalidCursor } from '../core/page-cursor.ts';
import { isHomeLane, recordRoutingFor, type StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import type { JobPage, ListJobsQuery, TenantJobStore } from './job-store.ts';
import type { TenantObjectStore } from './object-store.ts';
import { type StoreProvider, type TenantData, tenantDataAt } from './stores.ts';

type Routable = Pick<Tenant, 'id' | 'placement' | 'move'>;

/**
 * A tenant's data as the API sees it, following `recordRoutingFor`: outside a move one store; during a
 * move new records go to the target, reads try the target then the source, keys are claimed in both.
 * Each job's record and artifacts live in exactly one store until the move copies the (then frozen) source.
 */
export function tenantDataFor(stores: StoreProvider, tenant: Routable): TenantData {
  const routing = recordRoutingFor(tenant);
  if (routing.lookup.length === 1) return tenantDataAt(stores, routing.create, tenant.id);
  const at = (ref: StoreRef) => tenantDataAt(stores, ref, tenant.id);
  const create = at(routing.create);
  const lookup = routing.lookup.map(at);
  const keys = routing.keys.map(at);
  return {
    jobs: mergedJobs(
      create.jobs,
      lookup.map((d) => d.jobs),
      keys.map((d) => d.jobs),
    ),
    objects: mergedObjects(
      create.objects,
      lookup.map((d) => d.objects),
    ),
  };
}

/** The one store that holds this job now (the first in read order), where a function reads and writes it. */
export async function jobDataFor(stores: StoreProvider, tenant: Routable, jobId: JobId): Promise<TenantData> {
  const routing = recordRoutingFor(tenant);
  for (const ref of routing.lookup) {
    const data = tenantDataAt(stores, ref, tenant.id);
    if (routing.lookup.length === 1 || (await data.jobs.get(jobId))) return data;
  }
  return tenantDataAt(stores, routing.create, tenant.id);
}

/**
 * Where a function finds a job's data (`HandlerDeps.dataFor`) when every store is reachable (embedded):
 * the store of the lane its message came from when that is the tenant's home or holds the record, else
 * the store holding the job during a placement move (`jobDataFor`).
 */
export function laneDataFor(stores: StoreProvider) {
  return async (tenant: Tenant, jobId: JobId, lane?: StoreRef): Promise<TenantData> => {
    if (lane) {
      const data = tenantDataAt(stores, lane, tenant.id);
      // Outside a move the lane is the tenant's home: no lookup needed.
      if (isHomeLane(tenant, lane) || (await data.jobs.get(jobId))) return data;
    }
    return jobDataFor(stores, tenant, jobId);
  };
}

function mergedJobs(
  create: TenantJobStore,
  lookup: TenantJobStore[],
  keys: TenantJobStore[],
): TenantJobStore {
  const holder = async (id: JobId) => {
    for (const store of lookup) if (await store.get(id)) return store;
    return undefined;
  };
  return {
    tenantId: create.tenantId,
    create: (job) => create.create(job),
    async get(id) {
      for (const store of lookup) {
        const job = await store.get(id);
        if (job) return job;
      }
      return undefined;
    },
    async update(next, expectedVersion) {
      return ((await holder(next.id)) ?? create).update(next, expectedVersion);
    },
    async recordProgress(id, version, progress) {
      return ((await holder(id)) ?? create).recordProgress(id, version, progress);
    },
    async list(query): Promise<JobPage> {
      // One cursor per store, so paging through the union never skips or repeats a job.
      const cursors = decodeMergedCursor(query.cursor, lookup.length);
      const pages = await Promise.all(
        lookup.map((store, i) =>
          cursors[i] === DONE ? ({ items: [] } as JobPage) : store.list(withCursor(query, cursors[i])),
        ),
      );
      const seen = new Set<string>();
      const merged = pages
        .flatMap((page, i) => page.items.map((job) => ({ job, from: i })))
        .sort((a, b) => (a.job.id < b.job.id ? 1 : a.job.id > b.job.id ? -1 : 0))
        .filter(({ job }) => !seen.has(job.id) && seen.add(job.id));
      const taken = merged.slice(0, query.limit);
      const more = merged.length > query.limit || pages.some((p) => p.nextCursor);
      if (!more) return { items: taken.map((t) => t.job) };
      const next = await Promise.all(
        lookup.map(async (store, i) => {
          const count = taken.filter((t) => t.from === i).length;
          if (count === 0) return cursors[i] ?? '';
          const page = await store.list(withCursor({ ...query, limit: count }, cursors[i]));
          return page.nextCursor ?? DONE;
        }),
      );
      return { items: taken.map((t) => t.job), nextCursor: encodeMergedCursor(next) };
    },
    async delete(id) {
      for (const store of lookup) await store.delete(id);
    },
    async claimIdempotencyKey(record) {
      let found: Awaited<ReturnType<TenantJobStore['claimIdempotencyKey']>>;
      for (const store of keys) {
        const existing = await store.claimIdempotencyKey(found ?? record);
        found ??= existing;
      }
      return found;
    },
    async deleteIdempotencyKey(key) {
      for (const store of keys) await store.deleteIdempotencyKey(key);
    },
    async countItems() {
      let n = 0;
      for (const store of lookup) n += await store.countItems();
      return n;
    },
    async countQueued(upTo) {
      let n = 0;
      for (const store of lookup) if (n < upTo) n += await store.countQueued(upTo - n);
      return n;
    },
  };
}

function mergedObjects(create: TenantObjectStore, lookup: TenantObjectStore[]): TenantObjectStore {
  return {
    tenantId: create.tenantId,
    put: (key, body, contentType) => create.put(key, body, contentType),
    async get(key) {
      for (const store of lookup) {
        const object = await store.get(key);
        if (object) return object;
      }
      return undefined;
    },
    list: (prefix, options) => create.list(prefix, options),
    async delete(key) {
      for (const store of lookup) await store.delete(key);
    },
  };
}

const DONE = '~';

function withCursor(query: ListJobsQuery, cursor: string | undefined): ListJobsQuery {
  const { cursor: _ignored, ...rest } = query;
  return cursor ? { ...rest, cursor } : rest;
}

/** The cursor of a moving tenant's job list: one cursor per store, as one page cursor (core/page-cursor.ts). */
const MERGED_JOB_LIST = 'jobs-merged';

function encodeMergedCursor(cursors: string[]): string {
  return encodePageCursor(MERGED_JOB_LIST, JSON.stringify(cursors));
}

/**
 * One cursor per store: a merged one split, or one store's (from before the move) given to each, which
 * checks it. A junk cursor was read as no cursor here, and the list started over: now each store refuses it.
 */
function decodeMergedCursor(cursor: string | undefined, n: number): string[] {
  if (cursor === undefined || cursorList(cursor) !== MERGED_JOB_LIST)
    return Array.from({ length: n }, () => cursor ?? '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodePageCursor(cursor, MERGED_JOB_LIST));
  } catch {
    throw invalidCursor();
  }
  if (Array.isArray(parsed) && parsed.length === n && parsed.every((c) => typeof c === 'string'))
    return parsed;
  throw invalidCursor();
}

import { isJobId, type JobId } from '../core/ids.ts';
import type { JobRecord, JobStatus } from '../core/job.ts';
import { decodePageCursor, encodePageCursor } from '../core/page-cursor.ts';
import type { Tenant } from '../core/tenant.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

export interface OperatorJobQuery {
  tenantId?: string;
  model?: string;
  status?: JobStatus;
  /** ISO 8601 bounds on the job's creation time, inclusive. */
  from?: string;
  to?: string;
  limit: number;
  /** The last job id of the previous page. */
  cursor?: string;
}

/** One row of the operator's job list: enough to decide what to do, and where the job's story is. */
export interface OperatorJobRow {
  id: JobId;
  tenantId: string;
  tenantName: string;
  placement: Tenant['placement'];
  model: string;
  status: JobStatus;
  attempts: number;
  createdAt: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

export interface OperatorJobPage {
  items: OperatorJobRow[];
  nextCursor?: string;
}

/** Pages a tenant's job list is read in. */
const SCAN_PAGE = 100;

/**
 * Jobs of every tenant (or one), newest first, filtered by model, status and creation time. Each tenant's
 * store is read newest first (job ids sort by creation time) until it has given `limit` matches or passed
 * `from`; the merge keeps the newest `limit`. The cursor is the last job id shown: a page holds only older
 * ids, so paging neither repeats nor skips a job. Tenants are read one after another (their stores may be
 * separate tables or files), so the cost grows with tenants × depth: filter by tenant on a big platform.
 */
export async function listJobsAcrossTenants(
  deps: { directory: TenantDirectory; stores: StoreProvider },
  query: OperatorJobQuery,
): Promise<OperatorJobPage> {
  // The cursor is the last job id shown, in the one page cursor codec of every list.
  const after =
    query.cursor === undefined ? undefined : decodePageCursor(query.cursor, 'admin-jobs', isJobId);
  const from = query.from === undefined ? undefined : Date.parse(query.from);
  const to = query.to === undefined ? undefined : Date.parse(query.to);
  const tenants = await tenantsOf(deps.directory, query.tenantId);
  const found: { tenant: Tenant; job: JobRecord }[] = [];
  for (const tenant of tenants) {
    const jobs = tenantDataFor(deps.stores, tenant).jobs;
    let matches = 0;
    let cursor: string | undefined;
    scan: do {
      const page = await jobs.list({
        limit: SCAN_PAGE,
        ...(query.status ? { status: query.status } : {}),
        ...(query.model ? { model: query.model } : {}),
        ...(cursor ? { cursor } : {}),
      });
      for (const job of page.items) {
        const created = Date.parse(job.createdAt);
        if (from !== undefined && created < from) break scan;
        if (after !== undefined && job.id >= after) continue;
        if (to !== undefined && created > to) continue;
        found.push({ tenant, job });
        if (++matches > query.limit) break scan;
      }
      cursor = page.nextCursor;
    } while (cursor);
  }
  found.sort((a, b) => (a.job.id < b.job.id ? 1 : a.job.id > b.job.id ? -1 : 0));
  const page = found.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ tenant, job }) => rowOf(tenant, job)),
    ...(found.length > query.limit && last
      ? { nextCursor: encodePageCursor('admin-jobs', last.job.id) }
      : {}),
  };
}

async function tenantsOf(directory: TenantDirectory, tenantId: string | undefined): Promise<Tenant[]> {
  if (tenantId !== undefined) {
    const tenant = await directory.get(tenantId as Tenant['id']);
    return tenant ? [tenant] : [];
  }
  const all: Tenant[] = [];
  let cursor: string | undefined;
  do {
    const page = await directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

function rowOf(tenant: Tenant, job: JobRecord): OperatorJobRow {
  return {
    id: job.id,
    tenantId: tenant.id,
    tenantName: tenant.name,
    placement: tenant.placement,
    model: job.model,
    status: job.status,
    attempts: job.attempts,
    createdAt: job.createdAt,
    ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
    ...(job.error ? { error: job.error } : {}),
  };
}

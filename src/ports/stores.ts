import type { StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import type { JobStore, TenantJobStore } from './job-store.ts';
import { type ObjectStore, scopeObjects, type TenantObjectStore } from './object-store.ts';

/**
 * Finds the job store and object store behind a StoreRef: the shared ones, or a dedicated tenant's own
 * (its own SQLite file and folder, or its own table and bucket on AWS).
 */
export interface StoreProvider {
  jobs(ref: StoreRef): JobStore;
  objects(ref: StoreRef): ObjectStore;
  /** Creates a dedicated tenant's stores; idempotent. */
  provision(ref: StoreRef): Promise<void>;
  /** Removes a dedicated tenant's stores entirely (after a demotion or an offboarding). */
  destroy(ref: StoreRef): Promise<void>;
  close(): Promise<void>;
}

/** One tenant's data in one place: the only way routes and handlers reach job records and artifacts. */
export interface TenantData {
  jobs: TenantJobStore;
  objects: TenantObjectStore;
}

export function tenantDataAt(stores: StoreProvider, ref: StoreRef, tenantId: Tenant['id']): TenantData {
  return {
    jobs: stores.jobs(ref).forTenant(tenantId),
    objects: scopeObjects(stores.objects(ref), tenantId),
  };
}

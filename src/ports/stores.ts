import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import type { StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import type { JobStore, TenantJobStore } from './job-store.ts';
import { type ObjectStore, scopeObjects, type TenantObjectStore } from './object-store.ts';

/** An object a finishing job stores with its outcome; `key` is relative to the tenant's prefix. */
export interface OutcomeArtifact {
  key: string;
  body: Uint8Array;
  contentType: string;
}

/** The compare-and-set of a finishing job's record (`TenantJobStore.update`) that commits its staged artifacts. */
export type OutcomeCommit = (next: JobRecord, expectedVersion: number) => Promise<JobRecord>;

/**
 * Stages a finishing job's artifacts (`stageOutcome`): stores now what cannot go in the record's commit,
 * and answers the commit that writes the rest with the record. Throws what a put throws
 * (`StorageFullError`, `ValidationError`); the commit throws what `update` throws (`ConditionFailedError`:
 * nothing of it written).
 */
export type OutcomeWriter = (artifacts: readonly OutcomeArtifact[]) => Promise<OutcomeCommit>;

/**
 * Finds the job store and object store behind a StoreRef: the shared ones, or a dedicated tenant's own
 * (its own SQLite file and folder, or its own table and bucket on AWS).
 */
export interface StoreProvider {
  jobs(ref: StoreRef): JobStore;
  objects(ref: StoreRef): ObjectStore;
  /**
   * Where `ref`'s job records and (small) objects share one database (embedded: `jobs.sqlite`), a writer of
   * a job's outcome and its artifacts in one transaction. Absent (AWS: DynamoDB and S3 have no transaction
   * spanning both): `commitOutcome` stores the artifacts, then updates the record.
   */
  outcomeWriter?(ref: StoreRef, tenantId: TenantId): OutcomeWriter;
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
  /** The stores' own outcome commit, where they have one (`StoreProvider.outcomeWriter`). */
  writeOutcome?: OutcomeWriter;
}

export function tenantDataAt(stores: StoreProvider, ref: StoreRef, tenantId: Tenant['id']): TenantData {
  const data: TenantData = {
    jobs: stores.jobs(ref).forTenant(tenantId),
    objects: scopeObjects(stores.objects(ref), tenantId),
  };
  if (stores.outcomeWriter) data.writeOutcome = stores.outcomeWriter(ref, tenantId);
  return data;
}

/**
 * A finishing job's artifacts staged for its outcome (`OutcomeWriter`). With the stores' own writer, the
 * artifacts go in the record's commit: a reader never sees the outcome without them, and a delivery that
 * loses the compare-and-set leaves the winner's in place. Without (AWS), the documented sequence: each
 * artifact put whole now (S3), then the record's compare-and-set (DynamoDB) when the commit is called; a
 * crash between leaves artifacts no record points at yet, which the redelivery overwrites under the same
 * deterministic keys.
 */
export async function stageOutcome(
  data: TenantData,
  artifacts: readonly OutcomeArtifact[],
): Promise<OutcomeCommit> {
  if (data.writeOutcome) return data.writeOutcome(artifacts);
  for (const { key, body, contentType } of artifacts) await data.objects.put(key, body, contentType);
  return (next, expectedVersion) => data.jobs.update(next, expectedVersion);
}

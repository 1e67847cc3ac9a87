import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError } from '../../core/errors.ts';
import type { JobId, TenantId } from '../../core/ids.ts';
import type { JobProgress, JobRecord } from '../../core/job.ts';
import { usageOfFinishedJob } from '../../core/usage.ts';
import {
  type IdempotencyRecord,
  type JobPage,
  type JobStore,
  jobListOf,
  type ListJobsQuery,
  type TenantJobStore,
} from '../../ports/job-store.ts';
import type { UsageLedger } from '../../ports/usage-ledger.ts';
import { putIfAbsent, putIfVersion } from './conditional-put.ts';
import { decodeCursor, encodeCursor, isConditionFailed } from './cursor.ts';

export interface DynamoJobStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /**
   * Where a write that finishes a job records its usage: just before the job's conditional write
   * (deterministic ids, conditional puts), so whoever reads the finished job also reads its usage; a
   * crash in between leaves records of a job that finishes on its redelivery under the same ids.
   */
  usage?: UsageLedger;
}

/** The partition key of a tenant's items: `#` cannot occur in a tenant id, so `T#a1` never prefixes `T#a1-x`. */
export function tenantPartitionKey(tenantId: TenantId): string {
  return `T#${tenantId}`;
}

const JOB = 'JOB#';
const IDEM = 'IDEM#';
/**
 * The sparse global secondary index of queued jobs (partition key `queued` = the tenant's pk, sort key
 * `sk`, keys only): counts a tenant's waiting jobs without reading its history. Every table holding jobs
 * has it (`infra/naming.ts`, `jobTableIndexes`).
 */
export const QUEUED_INDEX = { name: 'queued', partitionKey: 'queued', sortKey: 'sk' } as const;

// Filtered queries read pages of this size until a page of results is full.
const FILTERED_PAGE = 100;

/**
 * JobStore on one DynamoDB table (pk `T#{tenantId}`, sk `JOB#{jobId}` / `IDEM#{key}`). The record is
 * stored whole as JSON in `doc`; `status`, `model` and `version` are copied out for filters and conditions.
 */
export function createDynamoJobStore(options: DynamoJobStoreOptions): JobStore {
  return { forTenant: (tenantId) => tenantJobs(options, tenantId) };
}

function tenantJobs({ client, tableName, usage }: DynamoJobStoreOptions, tenantId: TenantId): TenantJobStore {
  const pk = tenantPartitionKey(tenantId);
  const itemOf = (job: JobRecord) => ({
    pk,
    sk: JOB + job.id,
    status: job.status,
    model: job.model,
    version: job.version,
    // Sparse: only queued jobs carry it, so the `queued` index holds exactly the jobs waiting to run.
    ...(job.status === 'queued' ? { [QUEUED_INDEX.partitionKey]: pk } : {}),
    doc: JSON.stringify(job),
  });
  // Progress is an attribute of its own beside the document (an UpdateItem of one attribute, no new
  // version); the next put of the whole item drops it.
  const recordOf = (item: Record<string, unknown>): JobRecord => {
    const job = JSON.parse(item.doc as string) as JobRecord;
    return item.progress && job.status === 'running'
      ? { ...job, progress: item.progress as JobProgress }
      : job;
  };
  const ownJob = (job: JobRecord): void => {
    if (job.tenantId !== tenantId)
      throw new Error(`Job ${job.id} belongs to another tenant than ${tenantId}.`);
  };

  return {
    tenantId,

    async create(job: JobRecord): Promise<void> {
      ownJob(job);
      if (!(await putIfAbsent(client, tableName, itemOf(job)))) {
        throw new ConditionFailedError(`Job ${job.id} already exists.`);
      }
    },

    async get(id: JobId): Promise<JobRecord | undefined> {
      const out = await client.send(
        new GetCommand({ TableName: tableName, Key: { pk, sk: JOB + id }, ConsistentRead: true }),
      );
      return out.Item ? recordOf(out.Item) : undefined;
    },

    async update(next: JobRecord, expectedVersion: number): Promise<JobRecord> {
      ownJob(next);
      const stored: JobRecord = { ...next, version: expectedVersion + 1 };
      // Write-ahead metering: the finish and its usage are two tables without a transaction (the emulator
      // has none), and usage recorded after the finish was missing to a reader that saw it finished (the
      // billing route read `jobs` without `mc_paths`). Recorded first, a finish that loses its version race
      // is one another writer finishes (a redelivery that took the job over, the dead-letter settler, a
      // timeout or the reconciler; a running job cannot be cancelled, core/job.ts) under the same record
      // ids; the first records win, so compute may be this run's by a few ms.
      if (usage) await usage.record(usageOfFinishedJob(stored));
      if (!(await putIfVersion(client, tableName, itemOf(stored), expectedVersion))) {
        throw new ConditionFailedError(`Job ${next.id} changed since version ${expectedVersion} was read.`);
      }
      return stored;
    },

    async recordProgress(id: JobId, version: number, progress: JobProgress): Promise<boolean> {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk, sk: JOB + id },
            UpdateExpression: 'SET #progress = :progress',
            ConditionExpression: '#version = :version AND #status = :running',
            ExpressionAttributeNames: { '#progress': 'progress', '#version': 'version', '#status': 'status' },
            ExpressionAttributeValues: { ':progress': progress, ':version': version, ':running': 'running' },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailed(error)) return false;
        throw error;
      }
    },

    async list(query: ListJobsQuery): Promise<JobPage> {
      const limit = Math.max(1, query.limit);
      const filters: string[] = [];
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = { ':pk': pk, ':job': JOB };
      if (query.status !== undefined) {
        filters.push('#status = :status');
        names['#status'] = 'status';
        values[':status'] = query.status;
      }
      if (query.model !== undefined) {
        filters.push('#model = :model');
        names['#model'] = 'model';
        values[':model'] = query.model;
      }
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined = query.cursor
        ? decodeCursor(query.cursor, jobListOf(tenantId), pk, JOB)
        : undefined;
      // Ask for one more than a page: the extra item tells whether a next page exists.
      do {
        const input: QueryCommandInput = {
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
          ConsistentRead: true,
          Limit: filters.length > 0 ? FILTERED_PAGE : limit + 1 - items.length,
          ...(filters.length > 0
            ? { FilterExpression: filters.join(' AND '), ExpressionAttributeNames: names }
            : {}),
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        };
        const out = await client.send(new QueryCommand(input));
        items.push(...(out.Items ?? []));
        startKey = out.LastEvaluatedKey;
      } while (startKey && items.length <= limit);
      const page = items.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map(recordOf),
        ...(items.length > limit && last ? { nextCursor: encodeCursor(jobListOf(tenantId), last) } : {}),
      };
    },

    async delete(id: JobId): Promise<void> {
      await client.send(new DeleteCommand({ TableName: tableName, Key: { pk, sk: JOB + id } }));
    },

    async claimIdempotencyKey(record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
      if (await putIfAbsent(client, tableName, { pk, sk: IDEM + record.key, ...record })) return undefined;
      const out = await client.send(
        new GetCommand({ TableName: tableName, Key: { pk, sk: IDEM + record.key }, ConsistentRead: true }),
      );
      if (!out.Item)
        throw new ConditionFailedError(`Idempotency key ${record.key} changed while it was read.`);
      const { key, requestHash, jobId, createdAt } = out.Item as IdempotencyRecord;
      return { key, requestHash, jobId, createdAt };
    },

    async deleteIdempotencyKey(key: string): Promise<void> {
      await client.send(new DeleteCommand({ TableName: tableName, Key: { pk, sk: IDEM + key } }));
    },

    async countQueued(upTo: number): Promise<number> {
      let count = 0;
      let startKey: Record<string, unknown> | undefined;
      // Index reads are eventually consistent: admission's cap is exact within a moment, not to the item.
      while (count < upTo) {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: QUEUED_INDEX.name,
            KeyConditionExpression: '#queued = :pk',
            ExpressionAttributeNames: { '#queued': QUEUED_INDEX.partitionKey },
            ExpressionAttributeValues: { ':pk': pk },
            Select: 'COUNT',
            Limit: upTo - count,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        count += out.Count ?? 0;
        startKey = out.LastEvaluatedKey;
        if (!startKey) break;
      }
      return Math.min(count, Math.max(0, upTo));
    },

    async countItems(): Promise<number> {
      let count = 0;
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            Select: 'COUNT',
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        count += out.Count ?? 0;
        startKey = out.LastEvaluatedKey;
      } while (startKey);
      return count;
    },
  };
}

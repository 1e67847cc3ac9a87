import { ConditionFailedError, ForbiddenError, UnavailableError } from '../core/errors.ts';
import type { JobIntake, SubmitOutcome } from './job-intake.ts';
import { nextVersion } from './job-store.ts';
import type { MessageQueue } from './message-queue.ts';
import { tenantDataFor } from './placement-data.ts';
import type { StoreProvider } from './stores.ts';

/**
 * The submit as a sequence, for a job store and a queue that share no transaction (DynamoDB and SQS; the
 * embedded stores during a placement move, whose keys live in two files):
 * 1. claim the Idempotency-Key (a conditional put; a key bound to another job ends the submit),
 * 2. create the job record (conditional on its id),
 * 3. send the message, dedup id = job id.
 * A crash after 1 leaves a key without a job: the retry with that key creates the job under the bound id.
 * A crash after 2 leaves a queued job without a message: the retry re-sends it (`requeue`, same dedup id),
 * and the job reconciler re-sends it for a client that never retries. A failed send removes the record and
 * the key (or, if that fails too, marks the job failed) and throws UnavailableError, so nothing is left
 * queued forever and a retry starts afresh; a failed re-send throws UnavailableError too. Three writes, no grouping: SQS and DynamoDB scale per request.
 */
export function createSequencedJobIntake(deps: { stores: StoreProvider; queue: MessageQueue }): JobIntake {
  return {
    async submit(tenant, { job, idempotency, queue, message }): Promise<SubmitOutcome> {
      if (job.tenantId !== tenant.id)
        throw new ForbiddenError(`Job ${job.id} does not belong to tenant ${tenant.id}.`);
      const jobs = tenantDataFor(deps.stores, tenant).jobs;
      if (idempotency) {
        const existing = await jobs.claimIdempotencyKey(idempotency);
        if (existing && existing.jobId !== job.id) return { kind: 'key-taken', existing };
      }
      try {
        await jobs.create(job);
      } catch (error) {
        if (error instanceof ConditionFailedError) return { kind: 'job-exists' };
        throw error;
      }
      try {
        await deps.queue.send(queue, message);
      } catch (error) {
        const removed = await (async () => {
          await jobs.delete(job.id);
          if (idempotency) await jobs.deleteIdempotencyKey(idempotency.key);
          return true;
        })().catch(() => false);
        if (!removed) {
          await jobs
            .update(
              nextVersion(job, {
                status: 'failed',
                error: { code: 'enqueue_failed', message: 'The job could not be queued.' },
              }),
              job.version,
            )
            .catch(() => undefined);
        }
        throw new UnavailableError('The job could not be queued; try again.', { cause: error });
      }
      return { kind: 'created' };
    },
    async requeue(_tenant, queue, message) {
      // As a failed send in `submit`: the tenant's retry meets a platform fault (a lane's queue gone in a
      // placement change, SQS refusing), not a 404 naming the platform's queue.
      await deps.queue.send(queue, message).catch((error: unknown) => {
        throw new UnavailableError('The job could not be queued; try again.', { cause: error });
      });
    },
  };
}

import type { SQSRecord } from 'aws-lambda';
import { vi } from 'vitest';
import type { JobId } from '../../src/core/ids.ts';
import { createJobHandler } from '../../src/functions/model-handler.ts';
import { laneDataFor } from '../../src/ports/placement-data.ts';
import type { StoreProvider } from '../../src/ports/stores.ts';
import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';

// One job's deliveries to its model function on real stores, timed by a fake Date moved by hand: for the
// compute-billing tests (compute-measured.test.ts, compute-memory.test.ts), which work out every figure.

/** The fake clock's start (tests set it with `vi.setSystemTime(T0)` after faking Date). */
export const T0 = Date.parse('2026-11-10T09:00:00.000Z');
/** A usage range that holds every record of these tests. */
export const ALL = { from: '2026-01-01', to: '2027-12-31' };

/** The fake clock, moved forward by `ms`. */
export function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

/**
 * How the workbook put behaves: it takes `putMs` (the fake clock moves on), never returns while `hang` (the
 * process died under it: nobody sees its end), and fails while `failing` (a platform fault: retried).
 */
export interface PutBehaviour {
  putMs: number;
  failing: boolean;
  hang?: boolean;
}

/**
 * The model function on the platform's real stores with its workbook put as `run` says, delivered the job's
 * message `body` on `queue`: `deliver(receiveCount)` runs one delivery with that receive count.
 * `memoryMb` as createJobHandler's (read per delivery).
 */
export function measuredDelivery(
  platform: { directory: TenantDirectory; stores: StoreProvider },
  message: { queue: string; jobId: JobId; body: string },
  run: PutBehaviour,
  memoryMb?: () => number,
): (receiveCount: number) => Promise<void> {
  const handle = createJobHandler({
    directory: platform.directory,
    maxReceiveCount: 5,
    ...(memoryMb ? { memoryMb } : {}),
    async dataFor(t, jobId, ref) {
      const real = await laneDataFor(platform.stores)(t, jobId, ref);
      // The stores' own outcome commit left out: the workbook goes through the put below, then the record
      // (`commitOutcome`'s sequence, as on AWS), so the put's time and faults are this test's to set.
      return {
        jobs: real.jobs,
        objects: {
          ...real.objects,
          async put(key, bytes, contentType) {
            advance(run.putMs);
            if (run.hang) return new Promise<never>(() => undefined);
            if (run.failing) throw new Error('EIO: the disk went away');
            return real.objects.put(key, bytes, contentType);
          },
        },
      };
    },
  });
  const { queue, jobId, body } = message;
  return (receiveCount) => {
    const [record] = toSqsEvent(queue, [
      {
        messageId: `m-${jobId}`,
        receiptHandle: `r-${jobId}-${receiveCount}`,
        body,
        attributes: {},
        receiveCount,
        sentAt: T0,
        firstReceivedAt: T0,
      },
    ]).Records as [SQSRecord];
    return handle(record);
  };
}

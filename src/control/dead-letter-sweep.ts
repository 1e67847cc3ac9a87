import { decodeJobMessage } from '../core/messages.ts';
import type { MessageQueue, ReceivedMessage } from '../ports/message-queue.ts';
import { type SettleDeps, type SettleOutcome, settleDeadLetter } from './dead-letter-settler.ts';

const JOB_DLQ = /^(shared|tenant)_.+-dlq$/;
const DLQ_SUFFIX = '-dlq';

export interface SweepReport {
  /** Dead-letter queues read. */
  queues: number;
  /** Dead letters seen. */
  seen: number;
  settled: number;
}

/**
 * The dead-letter settler where the queue moves messages itself and keeps no record of it (SQS): reads
 * every model lane's dead-letter queue, settles each message's job (`failed`, `dead_lettered`; a job that
 * already ended is left alone) and makes every message visible again at once, so the dead letters stay
 * for inspection and redrive. A Lambda event source on the DLQ would delete them instead.
 *
 * Each message is hidden for `visibilityTimeoutSec` while the sweep reads its queue (a redrive in that
 * moment misses it until the next one); reading it counts as a receive, which a DLQ without a redrive
 * policy of its own does not act on.
 */
export async function sweepDeadLetterQueues(
  deps: SettleDeps & { queue: MessageQueue },
  options: {
    maxPerQueue?: number;
    visibilityTimeoutSec?: number;
    onSettled?(tenantId: string, outcome: SettleOutcome): void;
    onError?(error: unknown): void;
  } = {},
): Promise<SweepReport> {
  const report: SweepReport = { queues: 0, seen: 0, settled: 0 };
  const max = options.maxPerQueue ?? 1000;
  for (const dlq of await deps.queue.listQueues()) {
    if (!JOB_DLQ.test(dlq)) continue;
    report.queues++;
    const source = dlq.slice(0, -DLQ_SUFFIX.length);
    const seen: ReceivedMessage[] = [];
    try {
      while (seen.length < max) {
        const batch = await deps.queue.receive(dlq, {
          maxMessages: Math.min(10, max - seen.length),
          visibilityTimeoutSec: options.visibilityTimeoutSec ?? 60,
        });
        if (batch.length === 0) break;
        seen.push(...batch);
        for (const message of batch) {
          try {
            const outcome = await settleDeadLetter(deps, {
              source,
              body: message.body,
              receiveCount: message.receiveCount,
            });
            if (outcome === 'settled') report.settled++;
            const tenantId = decodeJobMessage(message.body)?.tenantId;
            if (tenantId) options.onSettled?.(tenantId, outcome);
          } catch (error) {
            // Visible again below: the next sweep tries once more.
            options.onError?.(error);
          }
        }
      }
    } finally {
      report.seen += seen.length;
      await Promise.all(
        seen.map((m) =>
          deps.queue.changeVisibility(dlq, m.receiptHandle, 0).catch((error) => options.onError?.(error)),
        ),
      );
    }
  }
  return report;
}

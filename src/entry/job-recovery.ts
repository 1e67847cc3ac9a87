import type { FastifyInstance } from 'fastify';
import { startDeadLetterSettler } from '../control/dead-letter-settler.ts';
import { startJobReconciler } from '../control/job-reconciler.ts';
import type { createTenantMetrics } from '../control/metrics.ts';
import { canScan, hasDeadLetterOutbox } from '../ports/message-queue.ts';
import type { JobEvents } from '../runtime/job-events.ts';
import type { AwsPorts } from './aws-wiring.ts';
import type { ServerConfig } from './config.ts';

/**
 * Jobs whose message is gone end anyway: the dead-letter settler fails the job of every message the queue
 * dead-letters (from the queue's outbox, so at start it settles what a crash left), and the reconciler
 * finds jobs that lost their message any other way. Both where the queue can (the embedded one); on AWS
 * the dead-letter settler is a Lambda of its own (lambda-dead-letters.ts).
 */
export function startJobRecovery(
  config: ServerConfig,
  platform: Pick<AwsPorts, 'queue' | 'directory' | 'stores'>,
  events: JobEvents,
  metrics: ReturnType<typeof createTenantMetrics>,
  app: FastifyInstance,
  notifications: boolean,
) {
  const deps = {
    directory: platform.directory,
    stores: platform.stores,
    queue: platform.queue,
    notifications,
    notify: (job: Parameters<JobEvents['publish']>[0]) => events.publish(job),
  };
  const onError = (error: unknown) => app.log.error({ err: error }, 'job recovery');
  const queue = platform.queue;
  const settler = hasDeadLetterOutbox(queue)
    ? startDeadLetterSettler({
        ...deps,
        outbox: queue,
        onSettled: (tenantId, outcome) => {
          if (outcome === 'settled') metrics.recordRecovery(tenantId, 'dead_letter_settled');
        },
        onError,
      })
    : undefined;
  const reconciler = canScan(queue)
    ? startJobReconciler({
        ...deps,
        queue,
        graceMs: config.reconcileGraceSec * 1000,
        intervalMs: Math.min(60_000, Math.max(1000, (config.reconcileGraceSec * 1000) / 4)),
        maxAttempts: config.maxReceiveCount,
        onRecovered: (tenantId, action) => metrics.recordRecovery(tenantId, action),
        onError,
      })
    : undefined;
  return {
    async stop() {
      await Promise.all([settler?.stop(), reconciler?.stop()]);
    },
  };
}

import { availableParallelism } from 'node:os';
import { isTenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { decodeJobMessage } from '../core/messages.ts';
import { dedicatedQueueName, sharedQueueName } from '../core/placement.ts';
import { jobLimitsFor, limitsFor, PLAN_LIMITS, type Tenant } from '../core/tenant.ts';
import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import type { WebhookEndpoints } from '../functions/webhook-endpoints.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { createComputePool } from './compute-pool.ts';
import { untilDeadline } from './deadline.ts';
import type { HandlerFactorySpec } from './function-runtime.ts';
import { type QueueConsumer, startQueueConsumer } from './queue-consumer.ts';
import { startWebhookDispatcher } from './webhook-dispatcher.ts';
import { createWorkerPool } from './worker-pool.ts';

export interface FunctionHostOptions {
  queue: MessageQueue;
  directory: TenantDirectory;
  stores: StoreProvider;
  models: string[];
  factory: HandlerFactorySpec;
  /** Events each function thread runs at once (overlaps one job's disk waits with another's work). */
  perThread?: number;
  /** Worker threads for the shared functions; defaults to the number of cores. */
  poolSize?: number;
  batchSize?: number;
  visibilityTimeoutSec: number;
  /** Where webhooks may point (the server's `SILOPOOL_WEBHOOK_*` settings). */
  webhookPolicy: WebhookTargetPolicy;
  /** Per-endpoint webhook limits and circuits, shared with the API that reports them to tenants. */
  webhookEndpoints?: WebhookEndpoints;
  /**
   * Also consume dedicated tenants' queues with the pooled threads. Used where dedicated functions are not
   * local processes (the server on the AWS adapters, where TenantStack Lambdas would run them in production).
   */
  poolDedicatedLanes?: boolean;
  /**
   * Fails the job of a message on `queue` whose run passed its time limit (`timeout`, not retried): true
   * when the message is done with, false when its job never started (the message goes back). Absent: a
   * run past its limit is stopped and retried like a crash.
   */
  settleTimedOut?(queue: string, body: string): Promise<boolean>;
  onJob?(job: JobRecord): void;
  onError?(error: unknown): void;
}

export interface FunctionHost {
  /** Jobs running now per tenant (the shared lanes). */
  running(): Map<string, number>;
  /** Re-reads every tenant's limits now (after a tenant was created or changed), not at the next tick. */
  refresh(): Promise<void>;
  /**
   * Receives no more messages and lets running jobs finish until `deadline` (epoch ms; default: no limit);
   * then ends the threads, and the messages of jobs cut short go back to their queues.
   */
  stop(deadline?: number): Promise<void>;
}

/**
 * Hosts the functions locally: the shared model functions in a worker-thread pool fed by their queues,
 * and the webhook dispatcher. Per-tenant running limits are enforced at the claim, so a tenant at its
 * limit does not hold a worker while others wait.
 */
export function startFunctionHost(options: FunctionHostOptions): FunctionHost {
  // Big runs (many-path simulations) spread over every core in low-priority processes.
  const compute =
    availableParallelism() > 1 ? createComputePool({ size: availableParallelism() }) : undefined;
  const pool = createWorkerPool({
    name: 'shared',
    size: options.poolSize ?? availableParallelism(),
    factory: options.factory,
    // One by default: more overlaps disk waits (a little more throughput) but makes a newly arrived
    // tenant's job wait behind more in-flight jobs of a flooding one (bench/noisy-neighbour measures it).
    perThread: options.perThread ?? 1,
    ...(compute ? { compute } : {}),
    ...(options.onJob ? { onJob: options.onJob } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const running = new Map<string, number>();
  const limits = new Map<string, number>();
  /** Each tenant's plan and settings as last read, for its jobs' time limits. */
  const tenants = new Map<string, Pick<Tenant, 'plan' | 'config'>>();
  const blocked = new Set<string>();

  const weighted = hasGroupWeights(options.queue) ? options.queue : undefined;
  const weights = new Map<string, number>();
  const dedicated = new Map<string, QueueConsumer>();
  const refreshLimits = async () => {
    const wantedDedicated = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await options.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      for (const tenant of page.items) {
        if ([tenant.placement, tenant.move?.from, tenant.move?.to].includes('dedicated')) {
          for (const model of options.models) wantedDedicated.add(dedicatedQueueName(tenant.id, model));
        }
        const tenantLimits = limitsFor(tenant);
        limits.set(tenant.id, tenantLimits.maxRunningJobs);
        tenants.set(tenant.id, { plan: tenant.plan, config: tenant.config });
        // A lowered limit (0 pauses a tenant) applies before its next start, not only after a finish.
        if ((running.get(tenant.id) ?? 0) >= tenantLimits.maxRunningJobs) blocked.add(tenant.id);
        else blocked.delete(tenant.id);
        // An offboarding removes the tenant's scheduling rows and checks none is left: writing them again
        // would undo that. Forgotten, so a new tenant under the same id gets its weight written.
        if (tenant.status === 'offboarding') {
          weights.delete(tenant.id);
          continue;
        }
        // The embedded queue shares capacity by weight; SQS fair queues have no weights to set.
        if (weighted && weights.get(tenant.id) !== tenantLimits.weight) {
          for (const model of options.models) {
            await weighted.setGroupWeight(sharedQueueName(model), tenant.id, tenantLimits.weight);
          }
          weights.set(tenant.id, tenantLimits.weight);
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    if (options.poolDedicatedLanes) await reconcileDedicated(wantedDedicated);
  };
  const limitTimer = setInterval(() => refreshLimits().catch(options.onError), 2000);
  refreshLimits().catch(options.onError);

  const groupOf = (body: string, groupId?: string) => groupId ?? decodeJobMessage(body)?.tenantId;
  /** A tenant created since the last refresh is read now; until then it gets the smallest plan's limit. */
  const limitOf = (group: string): number => {
    const known = limits.get(group);
    if (known !== undefined) return known;
    if (isTenantId(group)) {
      options.directory.get(group).then((tenant) => {
        if (tenant && !limits.has(group)) limits.set(group, limitsFor(tenant).maxRunningJobs);
      }, options.onError);
    }
    return PLAN_LIMITS.free.maxRunningJobs;
  };
  /** A job's time limit on the shared pool, by its tenant's plan and settings and its model. */
  const timeLimitMs = (body: string): number | undefined | Promise<number | undefined> => {
    const message = decodeJobMessage(body);
    if (!message) return undefined;
    const known = tenants.get(message.tenantId);
    if (known) return jobLimitsFor(known, message.model).jobTimeoutSec * 1000;
    // A tenant created since the last refresh: its limit is read now and counts from the job's start.
    return options.directory
      .get(message.tenantId)
      .then((tenant) => (tenant ? jobLimitsFor(tenant, message.model).jobTimeoutSec * 1000 : undefined));
  };
  const settleTimedOut = options.settleTimedOut;
  const consumers: QueueConsumer[] = options.models.map((model) =>
    startQueueConsumer({
      queue: sharedQueueName(model),
      runtime: pool,
      messages: options.queue,
      visibilityTimeoutSec: options.visibilityTimeoutSec,
      batchSize: options.batchSize ?? 1,
      blockedGroups: () => blocked,
      timeLimitMs: (m) => timeLimitMs(m.body),
      ...(settleTimedOut ? { settleTimedOut: (m) => settleTimedOut(sharedQueueName(model), m.body) } : {}),
      onStart: (m) => {
        const group = groupOf(m.body, m.groupId);
        if (!group) return;
        const count = (running.get(group) ?? 0) + 1;
        running.set(group, count);
        if (count >= limitOf(group)) blocked.add(group);
      },
      onFinish: (m) => {
        const group = groupOf(m.body, m.groupId);
        if (!group) return;
        const count = (running.get(group) ?? 1) - 1;
        if (count <= 0) running.delete(group);
        else running.set(group, count);
        if (count < limitOf(group)) blocked.delete(group);
      },
      ...(options.onError ? { onError: options.onError } : {}),
    }),
  );
  // Dedicated lanes on the pool: one consumer per existing queue of a tenant that is, or is moving to or
  // from, dedicated; reconciled with every limits refresh, which reads every tenant anyway.
  async function reconcileDedicated(wanted: ReadonlySet<string>): Promise<void> {
    const existing = new Set(await options.queue.listQueues('tenant_'));
    for (const name of wanted) {
      if (dedicated.has(name) || !existing.has(name)) continue;
      dedicated.set(
        name,
        startQueueConsumer({
          queue: name,
          runtime: pool,
          messages: options.queue,
          visibilityTimeoutSec: options.visibilityTimeoutSec,
          batchSize: options.batchSize ?? 1,
          ...(options.onError ? { onError: options.onError } : {}),
        }),
      );
    }
    for (const [name, consumer] of dedicated) {
      if (wanted.has(name) && existing.has(name)) continue;
      dedicated.delete(name);
      await consumer.stop();
    }
  }

  const webhooks = startWebhookDispatcher({
    queue: options.queue,
    directory: options.directory,
    stores: options.stores,
    policy: options.webhookPolicy,
    ...(options.webhookEndpoints ? { endpoints: options.webhookEndpoints } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });

  return {
    running: () => new Map(running),
    refresh: () => refreshLimits(),
    async stop(deadline) {
      clearInterval(limitTimer);
      const drained = Promise.all([
        ...consumers.map((c) => c.stop()),
        ...[...dedicated.values()].map((c) => c.stop()),
        webhooks.stop(),
      ]);
      await untilDeadline(drained, deadline);
      // Ending the threads fails their events: each consumer then hands the messages back to the queue.
      await pool.close();
      await drained;
      await compute?.close();
    },
  };
}

/** Queues that take a share per group (the embedded one); SQS fair queues decide shares themselves. */
interface GroupWeightedQueue extends MessageQueue {
  setGroupWeight(queue: string, group: string, weight: number): Promise<void>;
}

function hasGroupWeights(queue: MessageQueue): queue is GroupWeightedQueue {
  return typeof (queue as Partial<GroupWeightedQueue>).setGroupWeight === 'function';
}

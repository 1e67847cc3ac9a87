import { availableParallelism } from 'node:os';
import { isTenantId } from '../core/ids.ts';
import { decodeJobMessage } from '../core/messages.ts';
import { dedicatedQueueName, sharedQueueName } from '../core/placement.ts';
import {
  functionSettingsFor,
  incarnationOf,
  jobLimitsFor,
  limitsFor,
  PLAN_LIMITS,
  type Tenant,
} from '../core/tenant.ts';
import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import type { WebhookEndpoints } from '../functions/webhook-endpoints.ts';
import { hasRunningLimits, type MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { createComputePool } from './compute-pool.ts';
import type { HandlerFactorySpec, HeldMessage } from './function-runtime.ts';
import type { JobNotice } from './job-events.ts';
import { refreshAfterChange } from './refresh-after.ts';
import { startWebhookDispatcher } from './webhook-dispatcher.ts';
import { createFunctionThreads } from './worker-pool.ts';

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
  /**
   * The time limit of a job whose own cannot be looked up (its tenant unknown to the directory), ms; default
   * MAX_JOB_TIMEOUT_SEC (900 s).
   */
  maxTimeLimitMs?: number;
  /** How long one refresh of the tenants' limits may take, ms; default REFRESH_TIMEOUT_MS (refresh-after.ts). */
  refreshTimeoutMs?: number;
  onJob?(job: JobNotice): void;
  onError?(error: unknown): void;
}

export interface FunctionHost {
  /** Jobs running now per tenant (the shared lanes). */
  running(): Map<string, number>;
  /**
   * Re-reads every tenant's limits now (after a tenant was created or changed), not at the next tick. Rejects
   * with a PassDeadlineError if that takes longer than `refreshTimeoutMs`.
   */
  refresh(): Promise<void>;
  /**
   * Receives no more messages and lets running jobs finish until `deadline` (epoch ms; default: no limit);
   * then ends the threads, and the messages of jobs cut short go back to their queues.
   */
  stop(deadline?: number): Promise<void>;
}

/**
 * Hosts the functions locally: the shared model functions in worker threads that consume their queues
 * themselves, and the webhook dispatcher. Per-tenant running limits are enforced in the claim, so a tenant
 * at its limit does not hold a thread while others wait.
 */
export function startFunctionHost(options: FunctionHostOptions): FunctionHost {
  // Big runs (many-path simulations) spread over every core in low-priority processes.
  const compute =
    availableParallelism() > 1 ? createComputePool({ size: availableParallelism() }) : undefined;
  const modelQueues = options.models.map(sharedQueueName);
  // Where the queue counts running jobs in its claim (embedded), limits hold across threads exactly; on
  // SQS each thread skips the tenants this host saw at their limit (a hint, refreshed on every change).
  const counted = hasRunningLimits(options.queue) ? options.queue : undefined;
  const running = new Map<string, number>();
  const limits = new Map<string, number>();
  /** Each tenant's plan and settings as last read, for its jobs' time limits. */
  const tenants = new Map<string, Pick<Tenant, 'plan' | 'config'>>();
  let blocked = new Set<string>();

  const groupOf = (m: HeldMessage) => m.groupId ?? decodeJobMessage(m.body)?.tenantId;
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
  /** Tells the threads who is at the limit, where the queue cannot count it (see `counted`). */
  const publishBlocked = () => {
    if (counted) return;
    const now = new Set([...limits].filter(([g, max]) => (running.get(g) ?? 0) >= max).map(([g]) => g));
    for (const [g, n] of running) if (n >= limitOf(g)) now.add(g);
    if (now.size === blocked.size && [...now].every((g) => blocked.has(g))) return;
    blocked = now;
    threads.setBlocked(blocked);
  };

  /**
   * A job's time limit on the pool: on a model queue its tenant's plan and settings for its model; on a
   * dedicated lane (`poolDedicatedLanes`) its function's timeout, as its Lambda would have. Undefined (the
   * pool's maximum, MAX_JOB_TIMEOUT_SEC) for a message that names no job or a tenant the directory lacks:
   * these had no limit, and a thread hung on one held it for good.
   */
  const timeLimitMs = (m: HeldMessage): number | undefined | Promise<number | undefined> => {
    const message = decodeJobMessage(m.body);
    if (!message) return undefined;
    const shared = modelQueues.includes(m.queue);
    const limitOf = (tenant: Pick<Tenant, 'plan' | 'config'>) =>
      (shared ? jobLimitsFor(tenant, message.model).jobTimeoutSec : functionSettingsFor(tenant).timeoutSec) *
      1000;
    const known = tenants.get(message.tenantId);
    if (known) return limitOf(known);
    // A tenant created since the last refresh: its limit is read now and counts from the job's start.
    return options.directory.get(message.tenantId).then((tenant) => (tenant ? limitOf(tenant) : undefined));
  };
  const settleTimedOut = options.settleTimedOut;
  const threads = createFunctionThreads({
    size: options.poolSize ?? availableParallelism(),
    settings: {
      factory: options.factory,
      cores: compute ? availableParallelism() : 1,
      // One by default: more overlaps disk waits (a little more throughput) but makes a newly arrived
      // tenant's job wait behind more in-flight jobs of a flooding one (bench/noisy-neighbour measures it).
      perThread: options.perThread ?? 1,
      batchSize: options.batchSize ?? 1,
      visibilityTimeoutSec: options.visibilityTimeoutSec,
      queues: modelQueues,
      ...(counted
        ? { runningLimit: { scope: modelQueues, defaultLimit: PLAN_LIMITS.free.maxRunningJobs } }
        : {}),
    },
    messages: options.queue,
    timeLimitMs,
    ...(options.maxTimeLimitMs !== undefined ? { maxTimeLimitMs: options.maxTimeLimitMs } : {}),
    // A dedicated lane's job past its function's timeout is retried like a crash (then dead-lettered), as
    // its Lambda's and a local dedicated process's are; a shared one fails with `timeout`.
    ...(settleTimedOut
      ? {
          settleTimedOut: (m: HeldMessage) =>
            modelQueues.includes(m.queue) ? settleTimedOut(m.queue, m.body) : undefined,
        }
      : {}),
    ...(compute ? { compute } : {}),
    onStart: (m) => {
      const group = groupOf(m);
      if (!group || !modelQueues.includes(m.queue)) return;
      running.set(group, (running.get(group) ?? 0) + 1);
      publishBlocked();
    },
    onFinish: (m) => {
      const group = groupOf(m);
      if (!group || !modelQueues.includes(m.queue)) return;
      const count = (running.get(group) ?? 1) - 1;
      if (count <= 0) running.delete(group);
      else running.set(group, count);
      publishBlocked();
    },
    ...(options.onJob ? { onJob: options.onJob } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });

  const weighted = hasGroupWeights(options.queue) ? options.queue : undefined;
  /**
   * Weights and limits as written to the queue, so a refresh writes only changes: by tenant id and
   * incarnation, for an id offboarded (its rows erased) and onboarded again between two refreshes is another
   * tenant, whose rows were never written even where its figures are its predecessor's.
   */
  const weights = new Map<string, number>();
  const written = new Map<string, number>();
  // Abandoned at its deadline (refresh-after.ts), a run writes nothing more: each write follows a check.
  const readLimits = async (signal: AbortSignal) => {
    const wantedDedicated = new Set<string>();
    let cursor: string | undefined;
    do {
      const page = await options.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      signal.throwIfAborted();
      for (const tenant of page.items) {
        if ([tenant.placement, tenant.move?.from, tenant.move?.to].includes('dedicated')) {
          for (const model of options.models) wantedDedicated.add(dedicatedQueueName(tenant.id, model));
        }
        const tenantLimits = limitsFor(tenant);
        const rowsKey = `${tenant.id}\0${incarnationOf(tenant)}`;
        limits.set(tenant.id, tenantLimits.maxRunningJobs);
        tenants.set(tenant.id, { plan: tenant.plan, config: tenant.config });
        // An offboarding removes the tenant's scheduling rows and checks none is left: writing them again
        // would undo that. Forgotten, so a new tenant under the same id gets its rows written.
        if (tenant.status === 'offboarding') {
          weights.delete(rowsKey);
          written.delete(rowsKey);
          continue;
        }
        // A lowered limit (0 pauses a tenant) applies before its next start, not only after a finish.
        if (counted && written.get(rowsKey) !== tenantLimits.maxRunningJobs) {
          await counted.setGroupLimit(tenant.id, tenantLimits.maxRunningJobs);
          signal.throwIfAborted();
          written.set(rowsKey, tenantLimits.maxRunningJobs);
        }
        // The embedded queue shares capacity by weight; SQS fair queues have no weights to set.
        if (weighted && weights.get(rowsKey) !== tenantLimits.weight) {
          for (const model of options.models) {
            signal.throwIfAborted();
            await weighted.setGroupWeight(sharedQueueName(model), tenant.id, tenantLimits.weight);
          }
          signal.throwIfAborted();
          weights.set(rowsKey, tenantLimits.weight);
        }
      }
      cursor = page.nextCursor;
    } while (cursor);
    publishBlocked();
    if (options.poolDedicatedLanes) await reconcileDedicated(wantedDedicated, signal);
  };
  // A refresh asked for after a change never returns the one under way: that one (the timer's) may have read
  // the tenants before the change and, finishing last, put a paused tenant's old limit back until next tick.
  const { refresh: refreshLimits } = refreshAfterChange(readLimits, {
    what: "The function host's refresh of tenant limits",
    ...(options.refreshTimeoutMs !== undefined ? { timeoutMs: options.refreshTimeoutMs } : {}),
    ...(options.onError ? { onLate: options.onError } : {}),
  });
  const limitTimer = setInterval(() => refreshLimits().catch(options.onError), 2000);
  refreshLimits().catch(options.onError);

  // Dedicated lanes on the pool: every thread consumes each existing queue of a tenant that is, or is moving
  // to or from, dedicated; reconciled with every limits refresh, which reads every tenant anyway.
  let dedicated: string[] = [];
  async function reconcileDedicated(wanted: ReadonlySet<string>, signal: AbortSignal): Promise<void> {
    const existing = new Set(await options.queue.listQueues('tenant_'));
    signal.throwIfAborted();
    const next = [...wanted].filter((name) => existing.has(name)).sort();
    if (next.length === dedicated.length && next.every((name, i) => name === dedicated[i])) return;
    dedicated = next;
    threads.setExtraQueues(dedicated);
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
      await Promise.all([threads.close(deadline), webhooks.stop()]);
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

import type { TenantId } from '../core/ids.ts';
import { laneForPlacement } from '../core/placement.ts';
import type { Placement } from '../core/tenant.ts';
import { listModels } from '../models/registry.ts';
import { deadLetterQueueName, type MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantInfrastructure } from '../ports/tenant-infrastructure.ts';

export const DEFAULT_VISIBILITY_TIMEOUT_SEC = 30;
export const DEFAULT_MAX_RECEIVES = 4;
export { WEBHOOK_QUEUE } from '../functions/webhook-message.ts';

/** Creates a queue and its dead-letter queue; idempotent. */
export async function ensureQueue(
  queue: MessageQueue,
  name: string,
  options: { visibilityTimeoutSec?: number; maxReceiveCount?: number } = {},
): Promise<void> {
  const dlq = deadLetterQueueName(name);
  await queue.createQueue(dlq, { visibilityTimeoutSec: 30, retentionSec: 14 * 86_400 });
  await queue.createQueue(name, {
    visibilityTimeoutSec: options.visibilityTimeoutSec ?? DEFAULT_VISIBILITY_TIMEOUT_SEC,
    maxReceiveCount: options.maxReceiveCount ?? DEFAULT_MAX_RECEIVES,
    deadLetterQueue: dlq,
  });
}

/** The queues of every model lane of a tenant in a placement (for shared: the shared lanes). */
export function laneQueues(tenantId: TenantId, placement: Placement): string[] {
  return listModels().map((m) => laneForPlacement(tenantId, placement, m.name).queue);
}

export async function ensureLaneQueues(
  queue: MessageQueue,
  tenantId: TenantId,
  placement: Placement,
  options?: { visibilityTimeoutSec?: number; maxReceiveCount?: number },
): Promise<void> {
  for (const name of laneQueues(tenantId, placement)) await ensureQueue(queue, name, options);
}

/**
 * Dedicated resources made by the control plane itself: a tenant's queues (with dead-letter queues) and
 * its own store. The embedded default's, and the emulators'; on AWS a stack per tenant replaces it.
 */
export function laneInfrastructure(deps: {
  queue: MessageQueue;
  stores: StoreProvider;
  queueSettings?: { visibilityTimeoutSec?: number; maxReceiveCount?: number };
}): TenantInfrastructure {
  const store = (tenantId: TenantId) => laneForPlacement(tenantId, 'dedicated', '').store;
  return {
    speed: 'immediate',
    async deploy(tenant) {
      await ensureLaneQueues(deps.queue, tenant.id, 'dedicated', deps.queueSettings);
      await deps.stores.provision(store(tenant.id));
      return `queues ${laneQueues(tenant.id, 'dedicated').join(', ')}`;
    },
    async remove(tenantId) {
      for (const queue of laneQueues(tenantId, 'dedicated')) {
        await deps.queue.deleteQueue(queue);
        await deps.queue.deleteQueue(deadLetterQueueName(queue));
      }
      await deps.stores.destroy(store(tenantId));
      return 'removed the dedicated queues, store and objects';
    },
  };
}

/** SQS's limit on queue names; the embedded queue keeps to it so both backends name lanes alike. */
export const MAX_QUEUE_NAME = 80;

/**
 * Why a tenant cannot be dedicated, if it cannot: its lanes' dead-letter queue names must fit SQS's
 * 80 characters, which tenant ids near their 63-character maximum do not.
 */
export function dedicatedPlacementProblem(tenantId: TenantId): string | undefined {
  const longest = laneQueues(tenantId, 'dedicated')
    .map(deadLetterQueueName)
    .reduce((a, b) => (b.length > a.length ? b : a), '');
  if (longest.length <= MAX_QUEUE_NAME) return undefined;
  return `the id is too long for dedicated placement: its queue ${longest} would have ${longest.length} characters, more than SQS's ${MAX_QUEUE_NAME}`;
}

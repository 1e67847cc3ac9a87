import type { MessageQueue } from '../../ports/message-queue.ts';
import { type TenantRegions, tenantOfQueue } from './tenant-regions.ts';

export interface RegionalMessageQueueOptions {
  regions: TenantRegions;
  /** The SQS queue adapter of one Region (its own client), made once per Region by the caller. */
  queueIn(region: string): MessageQueue;
}

/**
 * One MessageQueue over SQS in several Regions: a tenant's own queues (`tenant_{id}_…`) are in the tenant's
 * Region, shared and platform queues (models' shared lanes, webhooks, notifications) in the platform's.
 * SQS queue URLs and clients are per Region, so each call goes to the Region that holds its queue.
 */
export function createRegionalMessageQueue(options: RegionalMessageQueueOptions): MessageQueue {
  const { regions } = options;
  const at = async (queue: string): Promise<MessageQueue> => {
    const tenantId = tenantOfQueue(queue);
    return options.queueIn(tenantId ? await regions.resolve(tenantId) : regions.platform);
  };
  return {
    createQueue: async (name, settings) => (await at(name)).createQueue(name, settings),
    deleteQueue: async (name) => (await at(name)).deleteQueue(name),
    async listQueues(prefix) {
      const lists = await Promise.all(regions.all().map((r) => options.queueIn(r).listQueues(prefix)));
      // One SQS endpoint may serve every Region (emulators): each name once.
      return [...new Set(lists.flat())].sort();
    },
    send: async (queue, message) => (await at(queue)).send(queue, message),
    sendBatch: async (queue, messages) => (await at(queue)).sendBatch(queue, messages),
    receive: async (queue, opts) => (await at(queue)).receive(queue, opts),
    delete: async (queue, receiptHandle) => (await at(queue)).delete(queue, receiptHandle),
    changeVisibility: async (queue, receiptHandle, timeoutSec, options) =>
      (await at(queue)).changeVisibility(queue, receiptHandle, timeoutSec, options),
    depth: async (queue) => (await at(queue)).depth(queue),
    depthByGroup: async (queue) => (await at(queue)).depthByGroup(queue),
    purge: async (queue) => (await at(queue)).purge(queue),
  };
}

/**
 * The queue URL prefix of `region`, from the platform's (`https://sqs.{platform}.{suffix}/{account}/`):
 * undefined when the platform's names no Region (an emulator's endpoint), so names are then resolved
 * with GetQueueUrl by that Region's client.
 */
export function queueUrlPrefixIn(platformPrefix: string | undefined, platform: string, region: string) {
  if (platformPrefix === undefined || region === platform) return platformPrefix;
  const marker = `sqs.${platform}.`;
  return platformPrefix.includes(marker) ? platformPrefix.replace(marker, `sqs.${region}.`) : undefined;
}

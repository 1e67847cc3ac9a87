import type { Tenant } from '../core/tenant.ts';
import type { EndpointHealth } from '../core/webhook-circuit.ts';
import { type WebhookEndpoints, webhookEndpointKey } from '../functions/webhook-endpoints.ts';
import { WEBHOOK_QUEUE } from '../functions/webhook-message.ts';
import { deadLetterQueueName, type MessageQueue } from '../ports/message-queue.ts';

/** A tenant's webhook endpoint as `GET /v1/settings/webhook` reports it. */
export interface WebhookEndpointReport extends EndpointHealth {
  /** Deliveries that exhausted their retries and wait in the dead-letter queue (an operator can redrive them). */
  deadLetteredDeliveries?: number;
}

/**
 * Reports endpoints from the circuits of the dispatcher in this process. Dead letters are counted per
 * tenant from the webhook dead-letter queue where the queue counts by group (the embedded one; SQS does
 * not, so the count is left out there rather than shown as 0).
 */
export function createWebhookHealth(options: {
  endpoints: WebhookEndpoints;
  queue: MessageQueue;
  countsByGroup: boolean;
}): (tenant: Tenant) => Promise<WebhookEndpointReport> {
  return async (tenant) => {
    const health = options.endpoints.health(webhookEndpointKey(tenant));
    if (!options.countsByGroup) return health;
    const byGroup = await options.queue.depthByGroup(deadLetterQueueName(WEBHOOK_QUEUE));
    return { ...health, deadLetteredDeliveries: byGroup.get(tenant.id) ?? 0 };
  };
}

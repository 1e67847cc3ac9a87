import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { deliverWebhook, type WebhookDeliveryDeps } from './webhook-delivery.ts';

/**
 * The webhook function on AWS: an SQS event source on `system_webhooks`. A failed or refused delivery
 * (a `WebhookDeliveryError`, passed to `onError`) is reported as a batch item failure, so SQS retries it
 * after the visibility timeout and dead-letters it at last.
 */
export function createWebhookHandler(deps: WebhookDeliveryDeps & { onError?(error: unknown): void }) {
  return async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
    const results = await Promise.all(
      event.Records.map(async (record) => ({
        id: record.messageId,
        ok: await deliverWebhook(deps, record.body).then(
          () => true,
          (error: unknown) => {
            deps.onError?.(error);
            return false;
          },
        ),
      })),
    );
    return { batchItemFailures: results.filter((r) => !r.ok).map((r) => ({ itemIdentifier: r.id })) };
  };
}

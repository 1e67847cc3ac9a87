import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { webhookTargetPolicyFromEnv } from '../core/webhook-target.ts';
import { createWebhookHandler } from '../functions/webhook-handler.ts';
import { createAwsPorts } from './aws-wiring.ts';

const logger = new Logger({ serviceName: 'silopool-webhooks' });
const ports = createAwsPorts();
const deliver = createWebhookHandler({
  directory: ports.directory,
  stores: ports.stores,
  // The same policy as the API's; unset variables mean https only, public addresses only.
  policy: webhookTargetPolicyFromEnv(process.env),
  onError: (error) => logger.warn('webhook delivery failed; SQS will retry it', { error: String(error) }),
});

/** Signed job notifications (Standard Webhooks), fed by the `system_webhooks` queue. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  return deliver(event);
}

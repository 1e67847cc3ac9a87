import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { webhookTargetPolicyFromEnv } from '../core/webhook-target.ts';
import { createNotificationHandler } from '../functions/notification-handler.ts';
import { createAwsPorts } from './aws-wiring.ts';
import { publicUrlFromEnv } from './config.ts';
import { notificationsFromEnv } from './notifications.ts';

const logger = new Logger({ serviceName: 'silopool-notifications' });
const ports = createAwsPorts();
// SMTP URL and VAPID keys come from the Lambda environment, which CloudFormation fills from the platform's
// notification secret at deploy time (infra/constructs/user-notifications.ts); push endpoints are held
// to the webhook target policy, as on the embedded server.
const notifications = notificationsFromEnv(process.env, webhookTargetPolicyFromEnv(process.env));
const publicUrl = publicUrlFromEnv(process.env);
const deliver = createNotificationHandler({
  // Tenants' views (status, placement; no secrets): all the fan-out and deliveries need of a tenant.
  directory: ports.tenantViews,
  stores: ports.stores,
  queue: ports.queue,
  ...notifications?.channels,
  // Read as the embedded server reads it: empty is unset, a query, fragment or trailing slash is refused.
  ...(publicUrl ? { publicUrl } : {}),
  onError: (error) =>
    logger.warn('notification delivery failed; SQS will retry it', { error: String(error) }),
});

/** User notifications (email, Web Push), fed by the `system_notifications` queue. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  return deliver(event);
}

import type { JobRecord } from '../core/job.ts';
import type { Tenant } from '../core/tenant.ts';
import type { SendMessage } from '../ports/message-queue.ts';
import { NOTIFICATION_QUEUE, notificationMessageFor } from './notification-message.ts';
import { WEBHOOK_QUEUE, webhookMessageFor } from './webhook-message.ts';

/** Whether a finished job of this tenant is announced at all: it has a webhook, or users may be notified. */
export function announces(tenant: Tenant, options: { notifications?: boolean }): boolean {
  return Boolean(tenant.config.webhook) || notifiesUsers(tenant, options);
}

/**
 * Whether its finished jobs go to user notifications: where the platform delivers them, and once one of
 * its users has opted in (`Tenant.notifiesUsers`); the dispatcher then finds who wants which job.
 */
function notifiesUsers(tenant: Tenant, options: { notifications?: boolean }): boolean {
  return options.notifications === true && tenant.notifiesUsers === true;
}

/**
 * The messages that announce a succeeded or failed job: its webhook (when the tenant has one) and its
 * user notifications (where the platform delivers them and a user of the tenant has opted in). The one
 * place the job path's outbox (the handler's final commit, recovery's settling) learns what to send.
 */
export function announcementsFor(
  tenant: Tenant,
  job: JobRecord,
  options: { notifications?: boolean },
): { queue: string; message: SendMessage }[] {
  if (job.status !== 'succeeded' && job.status !== 'failed') return [];
  return [
    ...(tenant.config.webhook ? [{ queue: WEBHOOK_QUEUE, message: webhookMessageFor(job) }] : []),
    ...(notifiesUsers(tenant, options)
      ? [{ queue: NOTIFICATION_QUEUE, message: notificationMessageFor(job) }]
      : []),
  ];
}

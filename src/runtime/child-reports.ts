import { ForbiddenError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import {
  decodeNotificationMessage,
  NOTIFICATION_QUEUE,
  notificationMessageFor,
} from '../functions/notification-message.ts';
import { decodeWebhookMessage, WEBHOOK_QUEUE, webhookMessageFor } from '../functions/webhook-message.ts';
import type { SendMessage } from '../ports/message-queue.ts';

const ANNOUNCED = new Set(['succeeded', 'failed']);

/**
 * What a dedicated function process may have its host send: its own tenant's job announcements
 * (`announcementsFor`), and nothing else. The process runs model code a release brings (a tenant's own
 * variant among it), so its reports are requests, not facts: the message is rebuilt here from the job it
 * names, under the process's tenant, with the dedup id the platform gives it (a child's own dedup id could
 * otherwise silence another tenant's announcement of the same job id).
 * Throws `ForbiddenError` for any other queue, another tenant's job, or a message that is not an announcement.
 */
export function announcementFromChild(tenantId: TenantId, queue: string, message: SendMessage): SendMessage {
  if (queue === WEBHOOK_QUEUE) {
    const m = decodeWebhookMessage(message.body);
    if (m?.tenantId === tenantId && ANNOUNCED.has(m.status) && Number.isSafeInteger(m.version))
      return webhookMessageFor({ id: m.jobId, tenantId, status: m.status, version: m.version });
  } else if (queue === NOTIFICATION_QUEUE) {
    const m = decodeNotificationMessage(message.body);
    if (m?.kind === 'job' && m.tenantId === tenantId && ANNOUNCED.has(m.status))
      return notificationMessageFor({ id: m.jobId, tenantId, status: m.status });
  }
  throw new ForbiddenError(
    `The function of tenant ${tenantId} may send only its own jobs' announcements; refused a message to ${queue}.`,
  );
}

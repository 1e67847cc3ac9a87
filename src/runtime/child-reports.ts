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
 * What a dedicated function process may have its host send: the announcements of the jobs of its own tenant
 * it runs now (`running`: an event of the job is in flight in that process), and nothing else. The process runs model code a release brings (a tenant's own
 * variant among it), so its reports are requests, not facts: the message is rebuilt here from the job it
 * names, under the process's tenant, with the dedup id the platform gives it (a child's own dedup id could
 * otherwise silence another tenant's announcement of the same job id).
 * A job it does not run (one made up, one finished before, any after its event ended) is refused: its model
 * code could otherwise announce `job.failed` for a job that succeeded, or put a message per job id it
 * invents on the platform's shared webhook and notification queues.
 * Throws `ForbiddenError` for any other queue, another tenant's job, a job the process does not run, or a
 * message that is not an announcement.
 */
export function announcementFromChild(
  tenantId: TenantId,
  queue: string,
  message: SendMessage,
  running: (jobId: string) => boolean,
): SendMessage {
  if (queue === WEBHOOK_QUEUE) {
    const m = decodeWebhookMessage(message.body);
    if (m?.tenantId === tenantId && ANNOUNCED.has(m.status) && Number.isSafeInteger(m.version)) {
      if (running(m.jobId))
        return webhookMessageFor({ id: m.jobId, tenantId, status: m.status, version: m.version });
      throw notRunning(tenantId, m.jobId);
    }
  } else if (queue === NOTIFICATION_QUEUE) {
    const m = decodeNotificationMessage(message.body);
    if (m?.kind === 'job' && m.tenantId === tenantId && ANNOUNCED.has(m.status)) {
      if (running(m.jobId)) return notificationMessageFor({ id: m.jobId, tenantId, status: m.status });
      throw notRunning(tenantId, m.jobId);
    }
  }
  throw new ForbiddenError(
    `The function of tenant ${tenantId} may send only its own jobs' announcements; refused a message to ${queue}.`,
  );
}

function notRunning(tenantId: TenantId, jobId: string): ForbiddenError {
  return new ForbiddenError(
    `The function of tenant ${tenantId} announced job ${jobId}, which it is not running; refused.`,
  );
}

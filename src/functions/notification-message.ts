import { isJobId, isTenantId, type JobId, type TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { NOTIFICATION_CHANNELS, type NotificationChannel } from '../core/notifications.ts';
import type { SendMessage } from '../ports/message-queue.ts';

/**
 * The system queue of user notifications (email, Web Push). It carries two kinds of message: a job's
 * announcement, which is fanned out to one delivery per opted-in user and channel, and those deliveries,
 * each retried and dead-lettered on its own so one user's failing channel never resends another's.
 */
export const NOTIFICATION_QUEUE = 'system_notifications';

export type NotificationMessage =
  | { kind: 'job'; tenantId: TenantId; jobId: JobId; status: string }
  | {
      kind: 'delivery';
      tenantId: TenantId;
      jobId: JobId;
      status: string;
      channel: NotificationChannel;
      /** The recipient's user key (`userKey(subject)`); the address is read at delivery time. */
      user: string;
      /** Web Push only: the subscription, so each of a user's devices succeeds or fails on its own. */
      subscription?: string;
    };

const KEY = /^[0-9a-f]{8,64}$/;

export function decodeNotificationMessage(body: string): NotificationMessage | undefined {
  try {
    const m = JSON.parse(body) as Record<string, unknown>;
    if (!isTenantId(m.tenantId) || !isJobId(m.jobId) || typeof m.status !== 'string') return undefined;
    const base = { tenantId: m.tenantId, jobId: m.jobId, status: m.status };
    if (m.kind === 'job') return { kind: 'job', ...base };
    if (m.kind !== 'delivery') return undefined;
    const channel = NOTIFICATION_CHANNELS.find((c) => c === m.channel);
    if (!channel || typeof m.user !== 'string' || !KEY.test(m.user)) return undefined;
    if (m.subscription !== undefined && (typeof m.subscription !== 'string' || !KEY.test(m.subscription)))
      return undefined;
    return {
      kind: 'delivery',
      ...base,
      channel,
      user: m.user,
      ...(m.subscription ? { subscription: m.subscription } : {}),
    };
  } catch {
    return undefined;
  }
}

/** A job's announcement; the dedup id makes a second announcement of one status (a crash, a redelivery) a no-op. */
export function notificationMessageFor(
  job: Pick<JobRecord, 'id' | 'tenantId'> & { status: string },
): SendMessage {
  return {
    body: JSON.stringify({ kind: 'job', tenantId: job.tenantId, jobId: job.id, status: job.status }),
    groupId: job.tenantId,
    dedupId: `n:${job.id}:${job.status}`,
  };
}

/** One delivery of an announcement; fanning out again after a crash sends each delivery once (dedup id). */
export function deliveryMessageFor(
  announcement: Extract<NotificationMessage, { kind: 'job' }>,
  channel: NotificationChannel,
  user: string,
  subscription?: string,
): SendMessage {
  const { tenantId, jobId, status } = announcement;
  return {
    body: JSON.stringify({
      kind: 'delivery',
      tenantId,
      jobId,
      status,
      channel,
      user,
      ...(subscription ? { subscription } : {}),
    }),
    groupId: tenantId,
    dedupId: `n:${jobId}:${status}:${channel}:${user}${subscription ? `:${subscription}` : ''}`,
  };
}

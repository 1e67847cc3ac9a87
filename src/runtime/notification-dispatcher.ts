import { dropSubscription, readByKey, tenantRecipients } from '../control/notification-preferences.ts';
import type { TenantId } from '../core/ids.ts';
import { jobNotice, receives } from '../core/notifications.ts';
import type { Tenant } from '../core/tenant.ts';
import {
  jobEmail,
  type Mailer,
  PushDeliveryError,
  type PushDeps,
  sendPush,
} from '../functions/notification-channels.ts';
import {
  decodeNotificationMessage,
  deliveryMessageFor,
  NOTIFICATION_QUEUE,
  type NotificationMessage,
} from '../functions/notification-message.ts';
import {
  createWebhookEndpoints,
  type DeliveryOutcome,
  retryDelaySec,
  type WebhookEndpoints,
} from '../functions/webhook-endpoints.ts';
import type { MessageQueue, ReceivedMessage } from '../ports/message-queue.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';

const VISIBILITY_SEC = 30;
const RECEIVE_ERROR_PAUSE_MS = 500;

export interface NotificationDispatcherOptions {
  queue: MessageQueue;
  directory: TenantDirectory;
  stores: StoreProvider;
  /** The platform's SMTP mailer; without one, email is not offered and nothing is mailed. */
  mailer?: Mailer;
  /** VAPID keys and the endpoint policy; without them, Web Push is not offered. */
  push?: PushDeps;
  /** The portal's origin, for links in emails. */
  publicUrl?: string;
  /** Per (tenant, channel) limits and circuits: the webhook endpoints' policy, keyed `tenant/channel`. */
  endpoints?: WebhookEndpoints;
  /** Messages held at once across every tenant and channel. */
  concurrency?: number;
  onError?(error: unknown): void;
}

/**
 * Delivers user notifications from `system_notifications`. A job's announcement is fanned out to one
 * delivery message per opted-in user and channel (per device for Web Push), deduplicated, so a crash
 * mid-fan-out sends none twice. Each delivery runs under the circuit and in-flight limit of its tenant's
 * channel (the webhook endpoints' policy): a tenant whose mail or push keeps failing has its deliveries put
 * back for the open period, and never holds up another tenant's. Failed deliveries back off, then
 * dead-letter.
 */
export function startNotificationDispatcher(options: NotificationDispatcherOptions): {
  stop(): Promise<void>;
} {
  const { queue } = options;
  const endpoints = options.endpoints ?? createWebhookEndpoints();
  const maxHeld = options.concurrency ?? 64;
  const held = new Set<Promise<void>>();
  let stopped = false;
  let wake: (() => void) | undefined;
  const report = (error: unknown) => options.onError?.(error);

  async function tenantOf(id: TenantId): Promise<Tenant | undefined> {
    const tenant = await options.directory.get(id);
    return tenant && tenant.status === 'active' ? tenant : undefined;
  }

  /** Sends the deliveries of one announcement; resolves when they are all on the queue. */
  async function fanOut(announcement: Extract<NotificationMessage, { kind: 'job' }>): Promise<void> {
    const tenant = await tenantOf(announcement.tenantId);
    if (!tenant) return;
    const objects = tenantDataFor(options.stores, tenant).objects;
    for await (const { user, settings } of tenantRecipients(objects)) {
      if (options.mailer && receives(settings, 'email')) {
        await queue.send(NOTIFICATION_QUEUE, deliveryMessageFor(announcement, 'email', user));
      }
      if (options.push && receives(settings, 'push')) {
        for (const subscription of settings.push) {
          await queue.send(
            NOTIFICATION_QUEUE,
            deliveryMessageFor(announcement, 'push', user, subscription.id),
          );
        }
      }
    }
  }

  /** One delivery; resolves when delivered or when there is nothing to deliver any more (opted out, gone). */
  async function deliver(delivery: Extract<NotificationMessage, { kind: 'delivery' }>): Promise<void> {
    const tenant = await tenantOf(delivery.tenantId);
    if (!tenant) return;
    const data = tenantDataFor(options.stores, tenant);
    const [job, settings] = await Promise.all([
      data.jobs.get(delivery.jobId),
      readByKey(data.objects, delivery.user),
    ]);
    // Read now, not at fan-out: a user who opted out or changed address since gets nothing at the old one.
    if (!job || !settings || !receives(settings, delivery.channel)) return;
    const notice = jobNotice(job);
    if (delivery.channel === 'email') {
      if (!options.mailer || !settings.email) return;
      await options.mailer.send(jobEmail(settings.email.address, notice, options.publicUrl));
      return;
    }
    const subscription = settings.push.find((s) => s.id === delivery.subscription);
    if (!options.push || !subscription) return;
    try {
      await sendPush(options.push, subscription, notice);
    } catch (error) {
      if (!(error instanceof PushDeliveryError && error.gone)) throw error;
      // The browser unsubscribed (or the endpoint is no longer allowed): forget it, nothing to retry.
      await dropSubscription(data.objects, delivery.user, subscription.id);
    }
  }

  async function handle(m: ReceivedMessage): Promise<void> {
    const message = decodeNotificationMessage(m.body);
    let outcome: DeliveryOutcome;
    if (!message) outcome = { kind: 'delivered' };
    else if (message.kind === 'job') {
      outcome = await fanOut(message).then(
        () => ({ kind: 'delivered' }) as const,
        (error: unknown) => ({ kind: 'failed', error }) as const,
      );
    } else {
      outcome = await endpoints.run(
        `${message.tenantId}/${message.channel}`,
        () => deliver(message),
        async (waitedMs) => {
          if (waitedMs >= 1_000)
            await queue.changeVisibility(NOTIFICATION_QUEUE, m.receiptHandle, VISIBILITY_SEC);
        },
      );
    }
    if (outcome.kind === 'delivered') {
      await queue.delete(NOTIFICATION_QUEUE, m.receiptHandle);
      return;
    }
    if (outcome.kind === 'failed') report(outcome.error);
    await queue.changeVisibility(NOTIFICATION_QUEUE, m.receiptHandle, retryDelaySec(outcome, m.receiveCount));
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const room = maxHeld - held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = await queue
        .receive(NOTIFICATION_QUEUE, {
          maxMessages: Math.min(10, room),
          visibilityTimeoutSec: VISIBILITY_SEC,
          waitTimeSec: 1,
        })
        .catch(async (error: unknown) => {
          report(error);
          await new Promise((resolve) => setTimeout(resolve, RECEIVE_ERROR_PAUSE_MS));
          return [];
        });
      for (const m of batch) {
        const running: Promise<void> = handle(m)
          .catch(report)
          .finally(() => {
            held.delete(running);
            wake?.();
            wake = undefined;
          });
        held.add(running);
      }
    }
    // What is still in flight comes back after VISIBILITY_SEC: at least once, deduplicated by message id.
    const drained = new Promise((resolve) => setTimeout(resolve, 11_000).unref());
    await Promise.race([Promise.all(held), drained]);
  }

  const main = loop();
  return {
    async stop() {
      stopped = true;
      wake?.();
      wake = undefined;
      await main;
    },
  };
}

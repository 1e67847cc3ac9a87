import type { TenantId } from '../core/ids.ts';
import { hasAccess, jobNotice, receives } from '../core/notifications.ts';
import type { Tenant } from '../core/tenant.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UnderCircuit } from './delivery-outcome.ts';
import {
  jobEmail,
  type Mailer,
  PushDeliveryError,
  type PushDeps,
  sendPush,
} from './notification-channels.ts';
import {
  decodeNotificationMessage,
  deliveryMessageFor,
  NOTIFICATION_QUEUE,
  type NotificationMessage,
} from './notification-message.ts';
import { dropSubscription, readAccess, readByKey, tenantRecipients } from './notification-preferences.ts';
import { type DeliveryOutcome, webhookEndpointKey } from './webhook-endpoints.ts';

export interface NotificationDeliveryDeps {
  queue: Pick<MessageQueue, 'send'>;
  directory: Pick<TenantDirectory, 'get'>;
  stores: StoreProvider;
  /** The platform's SMTP mailer; without one, nothing is mailed. */
  mailer?: Mailer;
  /** VAPID keys and the endpoint policy; without them, nothing is pushed. */
  push?: PushDeps;
  /** The portal's origin, for links in emails. */
  publicUrl?: string;
}

/** Active tenants only: an offboarding tenant's users hear nothing more. */
async function activeTenant(deps: NotificationDeliveryDeps, id: TenantId): Promise<Tenant | undefined> {
  const tenant = await deps.directory.get(id);
  return tenant && tenant.status === 'active' ? tenant : undefined;
}

/**
 * Turns a job's announcement into one delivery message per opted-in user of its tenant and channel (per
 * device for Web Push); resolves when they are all on the queue. Each carries its own dedup id, so running
 * this again after a crash mid-way sends none twice.
 */
export async function fanOutNotification(
  deps: NotificationDeliveryDeps,
  announcement: Extract<NotificationMessage, { kind: 'job' }>,
): Promise<void> {
  const tenant = await activeTenant(deps, announcement.tenantId);
  if (!tenant) return;
  const objects = tenantDataFor(deps.stores, tenant).objects;
  for await (const { user, settings } of tenantRecipients(objects)) {
    if (!receives(settings, 'email') && !receives(settings, 'push')) continue;
    // A user whose access ended (their last token expired unrenewed, the id changed hands) hears nothing.
    if (!hasAccess(await readAccess(objects, user), tenant, Date.now())) continue;
    if (deps.mailer && receives(settings, 'email')) {
      await deps.queue.send(NOTIFICATION_QUEUE, deliveryMessageFor(announcement, 'email', user));
    }
    if (deps.push && receives(settings, 'push')) {
      for (const subscription of settings.push) {
        await deps.queue.send(
          NOTIFICATION_QUEUE,
          deliveryMessageFor(announcement, 'push', user, subscription.id),
        );
      }
    }
  }
}

/**
 * Sends one delivery. Resolves when delivered, or when there is nothing to deliver any more: the user
 * opted out or changed address since the fan-out (settings are read now), their access ended, the job or
 * tenant is gone, or the
 * push service said the subscription is gone (it is removed).
 * @throws when the SMTP server or push service failed; the caller retries later.
 */
export async function deliverNotification(
  deps: NotificationDeliveryDeps,
  delivery: Extract<NotificationMessage, { kind: 'delivery' }>,
  signal?: AbortSignal,
): Promise<void> {
  const tenant = await activeTenant(deps, delivery.tenantId);
  if (!tenant) return;
  const data = tenantDataFor(deps.stores, tenant);
  const [job, settings, access] = await Promise.all([
    data.jobs.get(delivery.jobId),
    readByKey(data.objects, delivery.user),
    readAccess(data.objects, delivery.user),
  ]);
  if (!job || !settings || !receives(settings, delivery.channel)) return;
  // Read now, as the settings are: access that ended since the fan-out sends nothing.
  if (!hasAccess(access, tenant, Date.now())) return;
  const notice = jobNotice(job);
  // Past the attempt's deadline while the reads above hung: not sent (the retry sends it).
  signal?.throwIfAborted();
  if (delivery.channel === 'email') {
    if (!deps.mailer || !settings.email) return;
    await deps.mailer.send(jobEmail(settings.email.address, notice, deps.publicUrl), signal);
    return;
  }
  const subscription = settings.push.find((s) => s.id === delivery.subscription);
  if (!deps.push || !subscription) return;
  try {
    await sendPush(deps.push, subscription, notice, signal);
  } catch (error) {
    if (!(error instanceof PushDeliveryError && error.gone)) throw error;
    await dropSubscription(data.objects, delivery.user, subscription.id);
  }
}

/**
 * A notification message: a job's announcement is fanned out to one delivery per opted-in user and
 * channel (no circuit: it only writes to the queue); a delivery runs under its tenant's channel circuit,
 * keyed by the tenant incarnation (`webhookEndpointKey`) and the channel: the next customer under an
 * offboarded id never waits on its predecessor's open circuit. A failed read of the tenant is a failure not
 * counted against the circuit.
 */
export async function notificationOutcome(
  deps: NotificationDeliveryDeps,
  body: string,
  underCircuit: UnderCircuit,
): Promise<DeliveryOutcome> {
  const message = decodeNotificationMessage(body);
  // Not a notification message: nothing will ever deliver it.
  if (!message) return { kind: 'delivered' };
  if (message.kind === 'job') {
    return fanOutNotification(deps, message).then(
      () => ({ kind: 'delivered' }) as const,
      (error: unknown) => ({ kind: 'failed', error }) as const,
    );
  }
  let tenant: Tenant | undefined;
  try {
    tenant = await activeTenant(deps, message.tenantId);
  } catch (error) {
    return { kind: 'failed', error };
  }
  // The tenant is gone or leaving: its users hear nothing more.
  if (!tenant) return { kind: 'delivered' };
  // Read again when the delivery's turn comes (it may wait for a slot): a tenant leaving meanwhile sends nothing.
  return underCircuit(`${webhookEndpointKey(tenant)}/${message.channel}`, (signal) =>
    deliverNotification(deps, message, signal),
  );
}

import nodemailer from 'nodemailer';
import webpush from 'web-push';
import type { JobNotice, PushSubscriptionRecord } from '../core/notifications.ts';
import { checkWebhookUrl, type WebhookTargetPolicy } from '../core/webhook-target.ts';
import { agentAllowList, connectionFailure, guardedAgent, post, requestSignal } from './webhook-delivery.ts';
import { EndpointDeliveryError } from './webhook-endpoints.ts';

/** One plain-text email. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends email; the platform has one (its SMTP server), shared by every tenant. */
export interface Mailer {
  /**
   * `signal` aborts the SMTP session (the delivery attempt's deadline passed).
   * @throws when the SMTP server refused or did not answer, or on abort; the caller retries later.
   */
  send(message: MailMessage, signal?: AbortSignal): Promise<void>;
}

export interface SmtpSettings {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://host:465` (nodemailer's URL form). */
  url: string;
  /** The `From:` of every message (`Silopool <noreply@example.com>`). */
  from: string;
  /** Connection, greeting and socket timeouts, ms (default 10 s): a hung server fails the delivery. */
  timeoutMs?: number;
}

/** A Mailer over SMTP with nodemailer; one pooled transport per platform process. */
export function createSmtpMailer(settings: SmtpSettings): Mailer & { close(): void } {
  const timeout = settings.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({
    url: settings.url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    async send(message, signal) {
      await transport.sendMail({ from: settings.from, ...message, ...(signal ? { signal } : {}) });
    },
    close: () => transport.close(),
  };
}

/** The platform's VAPID identity (RFC 8292): the portal subscribes with the public key. */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** A `mailto:` or `https:` URL push services may contact about this sender. */
  subject: string;
}

/** Why a push was not delivered; `gone` means the subscription is dead (404/410) and should be removed. */
export class PushDeliveryError extends EndpointDeliveryError {
  readonly gone: boolean;
  constructor(message: string, options: { gone: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PushDeliveryError';
    this.gone = options.gone;
  }
}

export interface PushDeps {
  vapid: VapidKeys;
  /** Where push endpoints may point: the webhook target policy (real push services are public https). */
  policy: WebhookTargetPolicy;
  timeoutMs?: number;
}

/**
 * Sends one Web Push message: the notice encrypted for the subscription (RFC 8291, `aes128gcm`) and
 * signed with the platform's VAPID key (RFC 8292) by web-push, posted through the same guarded agent as
 * webhooks, since the endpoint is a URL a user supplied.
 * `signal` (the attempt's deadline) aborts the request.
 * @throws PushDeliveryError: `gone` for 404/410 (the browser unsubscribed), otherwise a retryable failure.
 */
export async function sendPush(
  deps: PushDeps,
  subscription: PushSubscriptionRecord,
  notice: JobNotice,
  signal?: AbortSignal,
): Promise<void> {
  const target = checkWebhookUrl(subscription.endpoint, deps.policy);
  if (!target.ok) {
    throw new PushDeliveryError(`push endpoint refused: ${target.reason}`, { gone: true });
  }
  const details = webpush.generateRequestDetails(
    { endpoint: subscription.endpoint, keys: subscription.keys },
    JSON.stringify(notice),
    {
      vapidDetails: deps.vapid,
      contentEncoding: 'aes128gcm',
      // A job notice is stale after a day.
      TTL: 24 * 3600,
      urgency: 'normal',
    },
  );
  const headers = Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k, String(v)]));
  const status = await post(target.url, details.body, {
    headers,
    agent: guardedAgent(target.url, {
      allowPrivateIPAddress: target.allowlisted === 'name',
      allowIPAddressList: agentAllowList(deps.policy, target.url),
    }),
    signal: requestSignal(deps.timeoutMs, signal),
  }).catch((error: unknown) => {
    throw new PushDeliveryError(`push not delivered: ${connectionFailure(error)}`, {
      gone: false,
      cause: error,
    });
  });
  if (status === 404 || status === 410) {
    throw new PushDeliveryError(`push subscription gone (${status})`, { gone: true });
  }
  if (status < 200 || status >= 300) {
    throw new PushDeliveryError(`push not delivered: the push service answered ${status}`, { gone: false });
  }
}

/** The email of a job notice: the subject and text name the tenant and the job. */
export function jobEmail(to: string, notice: JobNotice, publicUrl: string | undefined): MailMessage {
  const link = publicUrl ? `\n\nOpen it: ${publicUrl.replace(/\/$/, '')}${notice.path}` : '';
  return {
    to,
    subject: `[${notice.tenantId}] ${notice.title} (job ${notice.jobId})`,
    text: `${notice.body}.${link}\n\nYou receive this because you turned on email notifications for tenant ${notice.tenantId}. Turn them off in the portal's Notifications page.`,
  };
}

/** The email carrying a verification code. */
export function verificationEmail(to: string, tenantId: string, code: string): MailMessage {
  return {
    to,
    subject: `[${tenantId}] Your Silopool verification code: ${code}`,
    text: `Enter ${code} in the portal's Notifications page to receive job notifications of tenant ${tenantId} at this address. The code is valid for 30 minutes.\n\nIf you did not ask for it, ignore this message: nothing is sent here unless the code is entered.`,
  };
}

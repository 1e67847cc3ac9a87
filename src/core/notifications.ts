import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { failureForTenant } from './failure.ts';
import type { JobRecord } from './job.ts';

/** The channels a user can opt in to beside the tenant's webhook and SSE. */
export type NotificationChannel = 'email' | 'push';
export const NOTIFICATION_CHANNELS: readonly NotificationChannel[] = ['email', 'push'];

/** A browser's PushManager subscription (its `toJSON()`), as the push service gave it. */
export interface PushSubscriptionRecord {
  /** Stable per endpoint (see `subscriptionId`), so subscribing again from one browser replaces, not adds. */
  id: string;
  endpoint: string;
  keys: { p256dh: string; auth: string };
  createdAt: string;
}

/**
 * One user's notification settings in one tenant. The email address receives job notifications only
 * once `verified`: the user proved they read it by sending back the code mailed to it.
 */
export interface UserNotifications {
  subject: string;
  email?: {
    address: string;
    verified: boolean;
    /** SHA-256 of the pending verification code; never the code itself. */
    codeSha256?: string;
    codeExpiresAt?: string;
    /** When the last verification email went out: at most one a minute (see `VERIFICATION_RESEND_MS`). */
    codeSentAt?: string;
    /** Wrong codes entered for the pending one; at `MAX_CODE_ATTEMPTS` the code is void. */
    codeAttempts?: number;
  };
  optIn: Record<NotificationChannel, boolean>;
  push: PushSubscriptionRecord[];
}

/**
 * Until when a user held a credential that granted the tenant, as last seen (`until`, ISO 8601), and the
 * tenant incarnation it granted. Tokens cannot be listed or revoked one by one, so this is what the platform
 * knows of a user's access: notifications go to a user only while it lasts, never to one whose last token
 * has expired (their access was not renewed) nor after the tenant id changed hands.
 */
export interface UserAccess {
  until: string;
  incarnation?: string;
}

/** Whether `access` still grants the tenant (of this incarnation) at `nowMs`; none recorded grants nothing. */
export function hasAccess(
  access: UserAccess | undefined,
  tenant: { incarnation?: string },
  nowMs: number,
): boolean {
  if (!access || !(Date.parse(access.until) > nowMs)) return false;
  return access.incarnation === undefined || access.incarnation === tenant.incarnation;
}

export const MAX_PUSH_SUBSCRIPTIONS = 10;
export const VERIFICATION_CODE_TTL_MS = 30 * 60_000;
export const VERIFICATION_RESEND_MS = 60_000;
export const MAX_CODE_ATTEMPTS = 5;

export function emptyNotifications(subject: string): UserNotifications {
  return { subject, optIn: { email: false, push: false }, push: [] };
}

/**
 * The object key part for a user: a hash of the token subject, which may hold any character (an email,
 * an OIDC `sub`), so keys stay within the object store's safe alphabet and one user never names another's.
 */
export function userKey(subject: string): string {
  return createHash('sha256').update(subject).digest('hex').slice(0, 40);
}

/** A subscription's id: derived from its endpoint (one browser, one endpoint). */
export function subscriptionId(endpoint: string): string {
  return createHash('sha256').update(endpoint).digest('hex').slice(0, 16);
}

// The HTML spec's "valid e-mail address" (WHATWG, forms § 4.10.5.1.5): what `<input type=email>` accepts.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Whether `text` is an email address as the HTML spec defines one, at most 254 characters (RFC 5321 §4.5.3.1.3). */
export function isEmailAddress(text: string): boolean {
  return text.length <= 254 && EMAIL.test(text);
}

/** A six-digit verification code and its SHA-256. */
export function newVerificationCode(): { code: string; sha256: string } {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  return { code, sha256: sha256(code) };
}

export type CodeCheck = 'ok' | 'wrong' | 'expired' | 'none';

/** Checks an entered code against the pending one, in constant time. */
export function checkVerificationCode(
  email: UserNotifications['email'],
  code: string,
  nowMs: number,
): CodeCheck {
  if (!email?.codeSha256 || !email.codeExpiresAt) return 'none';
  if ((email.codeAttempts ?? 0) >= MAX_CODE_ATTEMPTS) return 'expired';
  if (nowMs > Date.parse(email.codeExpiresAt)) return 'expired';
  const a = Buffer.from(sha256(code.trim()), 'hex');
  const b = Buffer.from(email.codeSha256, 'hex');
  return a.length === b.length && timingSafeEqual(a, b) ? 'ok' : 'wrong';
}

/** Whether a user receives a job's notifications on `channel` now. */
export function receives(user: UserNotifications, channel: NotificationChannel): boolean {
  if (!user.optIn[channel]) return false;
  return channel === 'email' ? user.email?.verified === true : user.push.length > 0;
}

/** What a job-finished notification says, on every channel; always naming the tenant and the job. */
export interface JobNotice {
  title: string;
  body: string;
  /** The portal page of the job, relative to the platform's origin. */
  path: string;
  tenantId: string;
  jobId: string;
  status: string;
}

export function jobNotice(job: Pick<JobRecord, 'id' | 'tenantId' | 'model' | 'status' | 'error'>): JobNotice {
  const outcome = job.status === 'succeeded' ? 'finished' : job.status;
  // Judged as any tenant view of the failure is: a record of any release may hold the raw cause.
  const why = job.status === 'failed' && job.error ? `: ${failureForTenant(job.error).message}` : '';
  return {
    title: `Job ${outcome}: ${job.model}`,
    body: `Job ${job.id} of tenant ${job.tenantId} (${job.model}) ${outcome}${why}`,
    path: `/t/${job.tenantId}/jobs/${job.id}`,
    tenantId: job.tenantId,
    jobId: job.id,
    status: job.status,
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

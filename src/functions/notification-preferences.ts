import {
  emptyNotifications,
  type PushSubscriptionRecord,
  type UserAccess,
  type UserNotifications,
  userKey,
} from '../core/notifications.ts';
import type { TenantObjectStore } from '../ports/object-store.ts';

/**
 * Users' notification settings live in their tenant's own objects (`notifications/users/{userKey}.json`):
 * in the tenant's store whatever its placement, moved with its data and erased when it is offboarded, and
 * reachable only through the tenant-scoped view, so one tenant's users are never another's recipients.
 */
const PREFIX = 'notifications/users/';
const JSON_TYPE = 'application/json';

function keyOf(user: string): string {
  return `${PREFIX}${user}.json`;
}

/** The settings of the user with this token subject; defaults (nothing on) for one never seen. */
export async function readUserNotifications(
  objects: TenantObjectStore,
  subject: string,
): Promise<UserNotifications> {
  return (await readByKey(objects, userKey(subject))) ?? emptyNotifications(subject);
}

/** The settings stored under a user key, or undefined. */
export async function readByKey(
  objects: TenantObjectStore,
  user: string,
): Promise<UserNotifications | undefined> {
  const stored = await objects.get(keyOf(user));
  if (!stored) return undefined;
  return parseStored(new TextDecoder().decode(stored.body));
}

export async function writeUserNotifications(
  objects: TenantObjectStore,
  settings: UserNotifications,
): Promise<void> {
  const body = new TextEncoder().encode(JSON.stringify(settings));
  await objects.put(keyOf(userKey(settings.subject)), body, JSON_TYPE);
}

/** Every user of the tenant with stored settings, as (user key, settings). */
export async function* tenantRecipients(
  objects: TenantObjectStore,
): AsyncGenerator<{ user: string; settings: UserNotifications }> {
  let cursor: string | undefined;
  do {
    const page = await objects.list(PREFIX, { limit: 200, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) {
      const user = item.key.slice(PREFIX.length).replace(/\.json$/, '');
      const settings = await readByKey(objects, user);
      if (settings) yield { user, settings };
    }
    cursor = page.nextCursor;
  } while (cursor);
}

/**
 * Users' access (`UserAccess`) apart from their settings (`notifications/access/{userKey}.json`): renewed by
 * the user's requests, it never races a change of the settings themselves (a read-modify-write of one
 * document by both would lose one of them).
 */
const ACCESS_PREFIX = 'notifications/access/';
/** A renewal that extends access by less than this is not written: one write per user per this long at most. */
const RENEW_STEP_MS = 10 * 60_000;

/** The access recorded for a user key, or undefined (never recorded, or unreadable). */
export async function readAccess(objects: TenantObjectStore, user: string): Promise<UserAccess | undefined> {
  const stored = await objects.get(`${ACCESS_PREFIX}${user}.json`);
  if (!stored) return undefined;
  try {
    const value = JSON.parse(new TextDecoder().decode(stored.body)) as Partial<UserAccess>;
    if (typeof value.until !== 'string') return undefined;
    return {
      until: value.until,
      ...(typeof value.incarnation === 'string' ? { incarnation: value.incarnation } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Records that the user with this token subject holds a credential granting the tenant (`incarnation`)
 * until `untilMs`. Only extends (an older, shorter token seen later changes nothing), and only by steps of
 * RENEW_STEP_MS, so a busy user costs a write every ten minutes, not one per request.
 */
export async function renewAccess(
  objects: TenantObjectStore,
  subject: string,
  untilMs: number,
  incarnation: string | undefined,
): Promise<void> {
  const user = userKey(subject);
  const known = await readAccess(objects, user);
  const sameTenant = known?.incarnation === incarnation;
  if (known && sameTenant && untilMs < Date.parse(known.until) + RENEW_STEP_MS) return;
  const access: UserAccess = {
    until: new Date(untilMs).toISOString(),
    ...(incarnation !== undefined ? { incarnation } : {}),
  };
  await objects.put(
    `${ACCESS_PREFIX}${user}.json`,
    new TextEncoder().encode(JSON.stringify(access)),
    JSON_TYPE,
  );
}

/** The folder of users' settings among the tenant's objects (the offboarding export reads it). */
export const USER_SETTINGS_PREFIX = PREFIX;

/**
 * A user's stored settings as the tenant's offboarding export carries them: what the API shows the user
 * (`GET /v1/me/notifications`: the address and whether it is verified, opt-ins, each browser's id, origin
 * and date), never a pending code's hash and counters (the platform's, and a 6-digit code's hash gives the
 * code) nor a push subscription's endpoint and keys (capabilities to send to that browser). Undefined for
 * a document that is no settings.
 */
export function exportedUserSettings(body: Uint8Array): Uint8Array | undefined {
  const settings = parseStored(new TextDecoder().decode(body));
  if (!settings) return undefined;
  const shown = {
    subject: settings.subject,
    ...(settings.email
      ? { email: { address: settings.email.address, verified: settings.email.verified === true } }
      : {}),
    optIn: settings.optIn,
    push: settings.push.map((s) => ({ id: s.id, origin: originOf(s.endpoint), createdAt: s.createdAt })),
  };
  return new TextEncoder().encode(JSON.stringify(shown, null, 2));
}

function originOf(endpoint: string): string | undefined {
  return URL.canParse(endpoint) ? new URL(endpoint).origin : undefined;
}

/** Removes a push subscription the push service said is gone (404/410), keeping the rest. */
export async function dropSubscription(
  objects: TenantObjectStore,
  user: string,
  subscription: string,
): Promise<void> {
  const settings = await readByKey(objects, user);
  if (!settings?.push.some((s) => s.id === subscription)) return;
  await writeUserNotifications(objects, {
    ...settings,
    push: settings.push.filter((s) => s.id !== subscription),
  });
}

/** Stored settings read back defensively: a malformed document is treated as absent, never thrown. */
function parseStored(text: string): UserNotifications | undefined {
  try {
    const value = JSON.parse(text) as Partial<UserNotifications>;
    if (typeof value.subject !== 'string') return undefined;
    const push = Array.isArray(value.push) ? value.push.filter(isSubscription) : [];
    return {
      subject: value.subject,
      ...(value.email && typeof value.email.address === 'string' ? { email: value.email } : {}),
      optIn: { email: value.optIn?.email === true, push: value.optIn?.push === true },
      push,
    };
  } catch {
    return undefined;
  }
}

function isSubscription(s: unknown): s is PushSubscriptionRecord {
  const v = s as PushSubscriptionRecord;
  return (
    typeof v?.id === 'string' &&
    typeof v.endpoint === 'string' &&
    typeof v.keys?.p256dh === 'string' &&
    typeof v.keys.auth === 'string'
  );
}

import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import webpush from 'web-push';
import type { NotificationOffer } from '../api/deps.ts';
import { ConfigError } from '../core/errors.ts';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../core/file-modes.ts';
import type { WebhookTargetPolicy } from '../core/webhook-target.ts';
import { createSmtpMailer, type SmtpSettings, type VapidKeys } from '../functions/notification-channels.ts';

/**
 * The platform's notification settings, from the environment:
 * - `SILOPOOL_SMTP_URL` (`smtp://user:pass@host:587`, `smtps://host:465`) and `SILOPOOL_SMTP_FROM`: email
 *   is offered only when the URL is set;
 * - `SILOPOOL_VAPID_SUBJECT` (`mailto:ops@example.com`, default `mailto:admin@localhost`);
 * - `SILOPOOL_VAPID_PUBLIC_KEY` and `SILOPOOL_VAPID_PRIVATE_KEY` (base64url, `npx web-push
 *   generate-vapid-keys`): required where there is no data directory to keep generated ones (AWS, from a
 *   secret); embedded, a pair is generated once into `DATA_DIR/keys/vapid.json` (mode 0600).
 * @throws ConfigError naming the variable when one is set without its partner, or is not the URL it must be.
 */
export function readNotificationEnv(env: NodeJS.ProcessEnv): {
  smtp?: SmtpSettings;
  vapidSubject: string;
  vapidKeys?: { publicKey: string; privateKey: string };
} {
  const smtpUrl = env.SILOPOOL_SMTP_URL?.trim();
  const publicKey = env.SILOPOOL_VAPID_PUBLIC_KEY?.trim();
  const privateKey = env.SILOPOOL_VAPID_PRIVATE_KEY?.trim();
  if (Boolean(publicKey) !== Boolean(privateKey)) {
    throw new ConfigError(
      publicKey ? 'SILOPOOL_VAPID_PRIVATE_KEY' : 'SILOPOOL_VAPID_PUBLIC_KEY',
      'SILOPOOL_VAPID_PUBLIC_KEY and SILOPOOL_VAPID_PRIVATE_KEY are set together or not at all',
    );
  }
  // Found at start rather than at the first email or push, where the failure reached no one.
  if (smtpUrl && !/^smtps?:$/.test(urlOrUndefined(smtpUrl)?.protocol ?? '')) {
    throw new ConfigError(
      'SILOPOOL_SMTP_URL',
      'SILOPOOL_SMTP_URL must be an smtp:// or smtps:// URL, like smtp://user:pass@mail.example.com:587',
    );
  }
  const subject = env.SILOPOOL_VAPID_SUBJECT?.trim();
  if (subject && !/^(mailto|https):$/.test(urlOrUndefined(subject)?.protocol ?? '')) {
    throw new ConfigError(
      'SILOPOOL_VAPID_SUBJECT',
      `SILOPOOL_VAPID_SUBJECT must be a mailto: or https: URL, not "${subject}"`,
    );
  }
  return {
    ...(smtpUrl
      ? { smtp: { url: smtpUrl, from: env.SILOPOOL_SMTP_FROM?.trim() || 'Silopool <silopool@localhost>' } }
      : {}),
    vapidSubject: env.SILOPOOL_VAPID_SUBJECT?.trim() || 'mailto:admin@localhost',
    ...(publicKey && privateKey ? { vapidKeys: { publicKey, privateKey } } : {}),
  };
}

function urlOrUndefined(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** The VAPID key pair kept in `path`, generated (mode 0600) on first use; another process's wins a race. */
export async function loadVapidKeys(path: string): Promise<{ publicKey: string; privateKey: string }> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as { publicKey: string; privateKey: string };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const keys = webpush.generateVAPIDKeys();
  await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    await writeFile(path, JSON.stringify(keys), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return JSON.parse(await readFile(path, 'utf8')) as { publicKey: string; privateKey: string };
  }
  await chmod(path, PRIVATE_FILE_MODE);
  return keys;
}

export interface PlatformNotifications {
  /** What the API offers users. */
  offer: NotificationOffer;
  /** What the dispatcher delivers with. */
  channels: {
    mailer?: ReturnType<typeof createSmtpMailer>;
    push: { vapid: VapidKeys; policy: WebhookTargetPolicy };
  };
  close(): void;
}

/** The platform's mailer (when SMTP is set) and VAPID identity (from the environment, or the data directory). */
export async function openNotifications(
  dataDir: string,
  env: NodeJS.ProcessEnv,
  policy: WebhookTargetPolicy,
): Promise<PlatformNotifications> {
  const settings = readNotificationEnv(env);
  const keys = settings.vapidKeys ?? (await loadVapidKeys(join(dataDir, 'keys', 'vapid.json')));
  const mailer = settings.smtp ? createSmtpMailer(settings.smtp) : undefined;
  return {
    offer: { vapidPublicKey: keys.publicKey, ...(mailer ? { mailer } : {}) },
    channels: {
      ...(mailer ? { mailer } : {}),
      push: { vapid: { ...keys, subject: settings.vapidSubject }, policy },
    },
    close: () => mailer?.close(),
  };
}

/** The channels from the environment alone: either may be missing. */
export interface EnvNotifications {
  offer: NotificationOffer;
  channels: {
    mailer?: PlatformNotifications['channels']['mailer'];
    push?: { vapid: VapidKeys; policy: WebhookTargetPolicy };
  };
  close(): void;
}

/**
 * The channels where no data directory keeps a generated VAPID pair (AWS): email when `SILOPOOL_SMTP_URL`
 * is set, Web Push when both VAPID keys are; undefined when neither is (nothing is offered).
 * @throws Error naming the variable when a VAPID key is set without its partner.
 */
export function notificationsFromEnv(
  env: NodeJS.ProcessEnv,
  policy: WebhookTargetPolicy,
): EnvNotifications | undefined {
  const settings = readNotificationEnv(env);
  if (!settings.smtp && !settings.vapidKeys) return undefined;
  const mailer = settings.smtp ? createSmtpMailer(settings.smtp) : undefined;
  const push = settings.vapidKeys
    ? { vapid: { ...settings.vapidKeys, subject: settings.vapidSubject }, policy }
    : undefined;
  return {
    offer: { ...(push ? { vapidPublicKey: push.vapid.publicKey } : {}), ...(mailer ? { mailer } : {}) },
    channels: { ...(mailer ? { mailer } : {}), ...(push ? { push } : {}) },
    close: () => mailer?.close(),
  };
}

import { describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { parseWebhookTargetPolicy } from '../../src/core/webhook-target.ts';
import { announcesToUsers } from '../../src/entry/notification-flag.ts';
import { notificationsFromEnv } from '../../src/entry/notifications.ts';

// What the AWS functions (API, notifications, model) read from the environment the CDK app fills.
const policy = parseWebhookTargetPolicy({});

describe('notification settings from the environment (AWS)', () => {
  it('offers only the channels whose settings are set, and nothing without any', () => {
    expect(notificationsFromEnv({}, policy)).toBeUndefined();
    const keys = webpush.generateVAPIDKeys();
    const pushOnly = notificationsFromEnv(
      { SILOPOOL_VAPID_PUBLIC_KEY: keys.publicKey, SILOPOOL_VAPID_PRIVATE_KEY: keys.privateKey },
      policy,
    );
    expect(pushOnly?.offer).toEqual({ vapidPublicKey: keys.publicKey });
    expect(pushOnly?.channels.mailer).toBeUndefined();
    expect(pushOnly?.channels.push?.vapid).toMatchObject({ ...keys, subject: 'mailto:admin@localhost' });
    const emailOnly = notificationsFromEnv({ SILOPOOL_SMTP_URL: 'smtp://127.0.0.1:2525' }, policy);
    expect(emailOnly?.offer.mailer).toBeDefined();
    expect(emailOnly?.offer.vapidPublicKey).toBeUndefined();
    expect(emailOnly?.channels.push).toBeUndefined();
    emailOnly?.close();
  });

  it('refuses half a VAPID key pair, naming the variables', () => {
    expect(() => notificationsFromEnv({ SILOPOOL_VAPID_PUBLIC_KEY: 'x' }, policy)).toThrow(
      /SILOPOOL_VAPID_PRIVATE_KEY/,
    );
  });

  it('refuses an SMTP URL or a VAPID subject of the wrong kind at start, naming the variable', () => {
    // Before, both were taken as they were and failed only at the first email or push, reaching no one.
    for (const [name, value] of [
      ['SILOPOOL_SMTP_URL', 'mail.example.com:587'],
      ['SILOPOOL_SMTP_URL', 'http://mail.example.com'],
      ['SILOPOOL_VAPID_SUBJECT', 'admin@example.com'],
    ] as const) {
      expect(() => notificationsFromEnv({ [name]: value }, policy), value).toThrow(
        expect.objectContaining({ name: 'ConfigError', variable: name }),
      );
    }
    notificationsFromEnv({ SILOPOOL_SMTP_URL: 'smtps://u:p@mail.example.com:465' }, policy)?.close();
    notificationsFromEnv({ SILOPOOL_VAPID_SUBJECT: 'https://example.com/contact' }, policy)?.close();
  });

  it('announces to users only with SILOPOOL_NOTIFICATIONS=on', () => {
    expect(announcesToUsers({ SILOPOOL_NOTIFICATIONS: 'on' })).toBe(true);
    expect(announcesToUsers({})).toBe(false);
    expect(announcesToUsers({ SILOPOOL_NOTIFICATIONS: 'off' })).toBe(false);
  });
});

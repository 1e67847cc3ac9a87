import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { flagSettingOf } from '../../src/core/settings.ts';
import { webhookTargetPolicyFromEnv } from '../../src/core/webhook-target.ts';
import { readConfig } from '../../src/entry/config.ts';
import { announcesToUsers } from '../../src/entry/notification-flag.ts';

// Each yes/no setting compared its value with one spelling: SILOPOOL_NOTIFICATIONS with `on`, so
// `SILOPOOL_NOTIFICATIONS=true` (or `ON`, `1`) silently announced nothing to users on AWS and on the AWS-backed
// server; SILOPOOL_WEBHOOK_ALLOW_HTTP with `1`/`true`, so `TRUE` or `yes` was silently https-only. A value that
// is neither on nor off was taken as off, the operator never told.
const ON = ['1', 'true', 'TRUE', 'True', 'on', 'ON', 'yes', ' on ', 'true\n'];
const OFF = ['0', 'false', 'FALSE', 'off', 'Off', 'no', ' 0 '];
const NEITHER = ['maybe', '2', 'enabled', 'tru', 'on,off', 'ｏｎ', '１'];

describe('yes/no settings, every way they are read', () => {
  it('SILOPOOL_NOTIFICATIONS (model, control and AWS-backed server): on, off, or refused naming it', () => {
    for (const value of ON) expect(announcesToUsers({ SILOPOOL_NOTIFICATIONS: value }), value).toBe(true);
    for (const value of OFF) expect(announcesToUsers({ SILOPOOL_NOTIFICATIONS: value }), value).toBe(false);
    expect(announcesToUsers({ SILOPOOL_NOTIFICATIONS: '' })).toBe(false);
    expect(announcesToUsers({})).toBe(false);
    for (const value of NEITHER)
      expect(() => announcesToUsers({ SILOPOOL_NOTIFICATIONS: value }), value).toThrow(
        /SILOPOOL_NOTIFICATIONS must be on or off/,
      );
  });

  it('SILOPOOL_WEBHOOK_ALLOW_HTTP (server, webhook function): on, off, or refused at start naming it', () => {
    const allow = (value: string) =>
      webhookTargetPolicyFromEnv({ SILOPOOL_WEBHOOK_ALLOW_HTTP: value }).allowHttp;
    for (const value of ON) expect(allow(value), value).toBe(true);
    for (const value of [...OFF, '']) expect(allow(value), value).toBe(false);
    for (const value of NEITHER) {
      expect(() => allow(value), value).toThrow(ConfigError);
      expect(() => readConfig({ SILOPOOL_WEBHOOK_ALLOW_HTTP: value }), value).toThrow(
        /SILOPOOL_WEBHOOK_ALLOW_HTTP must be on or off/,
      );
    }
  });

  it('flagSettingOf: set but empty is the fallback, as for every setting', () => {
    expect(flagSettingOf({ X: '' }, 'X', true)).toBe(true);
    expect(flagSettingOf({}, 'X', true)).toBe(true);
    expect(flagSettingOf({ X: 'off' }, 'X', true)).toBe(false);
  });
});

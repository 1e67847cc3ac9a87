import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newJobId } from '../../src/core/ids.ts';
import {
  checkVerificationCode,
  emptyNotifications,
  hasAccess,
  isEmailAddress,
  jobNotice,
  MAX_CODE_ATTEMPTS,
  newVerificationCode,
  receives,
  userKey,
} from '../../src/core/notifications.ts';
import { decodeNotificationMessage, deliveryMessageFor } from '../../src/functions/notification-message.ts';

describe('notification rules', () => {
  it('accepts addresses as the HTML spec’s email input does, and refuses header injection', () => {
    for (const ok of ['a@b', 'first.last+tag@sub.example.com', "o'brien@example.ie"]) {
      expect(isEmailAddress(ok), ok).toBe(true);
    }
    for (const bad of [
      '',
      'no-at',
      'a@',
      '@b',
      'a b@c',
      'a@b\r\nBcc: victim@x',
      'a@-b',
      `${'a'.repeat(251)}@b.c`,
    ]) {
      expect(isEmailAddress(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('a code matches only itself, expires, and is void after too many wrong tries', () => {
    const { code, sha256 } = newVerificationCode();
    expect(code).toMatch(/^\d{6}$/);
    const now = Date.parse('2026-01-01T00:00:00Z');
    const email = {
      address: 'a@b.c',
      verified: false,
      codeSha256: sha256,
      codeExpiresAt: new Date(now + 60_000).toISOString(),
      codeAttempts: 0,
    };
    expect(checkVerificationCode(email, code, now)).toBe('ok');
    expect(checkVerificationCode(email, ` ${code} `, now)).toBe('ok');
    expect(checkVerificationCode(email, code, now + 60_001)).toBe('expired');
    expect(checkVerificationCode({ ...email, codeAttempts: MAX_CODE_ATTEMPTS }, code, now)).toBe('expired');
    expect(checkVerificationCode({ address: 'a@b.c', verified: true }, code, now)).toBe('none');
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (other) => {
        fc.pre(other.trim() !== code);
        return checkVerificationCode(email, other, now) === 'wrong';
      }),
    );
  });

  it('email reaches a user only when opted in and verified; push only with a subscription', () => {
    const user = emptyNotifications('pat');
    expect(receives(user, 'email')).toBe(false);
    const unverified = {
      ...user,
      optIn: { email: true, push: true },
      email: { address: 'a@b.c', verified: false },
    };
    expect(receives(unverified, 'email')).toBe(false);
    expect(receives({ ...unverified, email: { address: 'a@b.c', verified: true } }, 'email')).toBe(true);
    expect(receives(unverified, 'push')).toBe(false);
    const device = {
      id: 'x',
      endpoint: 'https://p.example/1',
      keys: { p256dh: 'k', auth: 'a' },
      createdAt: '',
    };
    expect(receives({ ...unverified, push: [device] }, 'push')).toBe(true);
    expect(receives({ ...unverified, optIn: { email: true, push: false }, push: [device] }, 'push')).toBe(
      false,
    );
  });

  it('a notice names the tenant and the job, and links to the job page', () => {
    const notice = jobNotice({
      id: '01jobid' as never,
      tenantId: 'acme' as never,
      model: 'finance',
      status: 'failed',
      error: { code: 'validation_failed', message: 'years must be at least 1' },
    });
    expect(notice.body).toBe('Job 01jobid of tenant acme (finance) failed: years must be at least 1');
    expect(notice.path).toBe('/t/acme/jobs/01jobid');
  });

  it('a delivery message reads back as written; anything else is not a delivery', () => {
    const user = userKey('pat');
    const jobId = newJobId();
    const message = deliveryMessageFor(
      { kind: 'job', tenantId: 'acme' as never, jobId, status: 'succeeded' },
      'push',
      user,
      '0123456789abcdef',
    );
    expect(decodeNotificationMessage(message.body)).toEqual({
      kind: 'delivery',
      tenantId: 'acme',
      jobId,
      status: 'succeeded',
      channel: 'push',
      user,
      subscription: '0123456789abcdef',
    });
    fc.assert(
      fc.property(fc.json(), (text) => {
        const decoded = decodeNotificationMessage(text);
        return decoded === undefined || decoded.kind === 'job' || decoded.kind === 'delivery';
      }),
    );
    expect(decodeNotificationMessage(message.body.replace(user, '../../etc'))).toBeUndefined();
    expect(decodeNotificationMessage(message.body.replace('"push"', '"sms"'))).toBeUndefined();
  });

  it('reaches a user only while their recorded access lasts, for the tenant incarnation it granted', () => {
    const now = Date.parse('2026-06-01T12:00:00Z');
    const tenant = { incarnation: 'inc-1' };
    expect(hasAccess(undefined, tenant, now)).toBe(false);
    expect(hasAccess({ until: '2026-06-01T12:00:01Z', incarnation: 'inc-1' }, tenant, now)).toBe(true);
    expect(hasAccess({ until: '2026-06-01T12:00:00Z', incarnation: 'inc-1' }, tenant, now)).toBe(false);
    expect(hasAccess({ until: '2026-06-02T00:00:00Z', incarnation: 'inc-0' }, tenant, now)).toBe(false);
    expect(hasAccess({ until: 'soon' }, tenant, now)).toBe(false);
    // Records of tenants made before incarnations existed: the time decides.
    expect(hasAccess({ until: '2026-06-02T00:00:00Z' }, {}, now)).toBe(true);
  });
});

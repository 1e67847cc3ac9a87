import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { type SmtpInbox, startSmtpInbox } from '../support/smtp-inbox.ts';

/**
 * The limits on verification emails and codes hold under concurrent requests. Each request read the
 * user's settings, checked them and wrote them back: requests sent at once all read the same settings, so
 * every one of a burst of wrong codes was checked (5 tries became as many as the burst, enough to guess a
 * six-digit code and get job mail sent to an address nobody verified), and every one of a burst of
 * address changes mailed a code (the one-a-minute limit became none: mail bombing any address).
 */
describe('notification settings under concurrent requests', { timeout: 90_000 }, () => {
  let server: TestServer;
  let inbox: SmtpInbox;

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    server = await startTestServer({ env: { SILOPOOL_SMTP_URL: inbox.url } });
  });
  afterAll(async () => {
    await server?.stop();
    await inbox?.close();
  });

  it('mails one code per minute and checks at most 5 codes, however many requests arrive at once', async () => {
    const tenant = newTenantId('race');
    await server.createTenant(tenant);
    const token = await server.mintToken({ tenants: [tenant], user: `mallory-${tenant}` });
    const address = `victim@${tenant}.test`;
    const burst = 25;
    const sets = await Promise.all(
      Array.from({ length: burst }, () =>
        server.api('/v1/me/notifications/email', {
          method: 'PUT',
          token,
          body: JSON.stringify({ address }),
        }),
      ),
    );
    expect(sets.filter((r) => r.status === 202)).toHaveLength(1);
    expect(sets.filter((r) => r.status === 429)).toHaveLength(burst - 1);
    const mail = await inbox.waitFor((m) => m.to.includes(address));
    await new Promise((r) => setTimeout(r, 500));
    expect(inbox.mails.filter((m) => m.to.includes(address))).toHaveLength(1);

    const right = /Enter (\d{6}) /.exec(mail.text)![1]!;
    const wrong = Array.from({ length: burst }, (_, i) =>
      String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'),
    );
    const tries = await Promise.all(
      wrong.map((code) =>
        server.api('/v1/me/notifications/email/verify', {
          method: 'POST',
          token,
          body: JSON.stringify({ code }),
        }),
      ),
    );
    expect(tries.filter((r) => r.status === 400)).toHaveLength(5);
    expect(tries.filter((r) => r.status === 409)).toHaveLength(burst - 5);
    // The code is void now, even the right one.
    const late = await server.api('/v1/me/notifications/email/verify', {
      method: 'POST',
      token,
      body: JSON.stringify({ code: right }),
    });
    expect(late.status).toBe(409);
  });
});

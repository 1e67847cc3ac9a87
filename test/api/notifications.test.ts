import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optInToEmail, verificationCodeIn } from '../support/email-opt-in.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { type SmtpInbox, startSmtpInbox } from '../support/smtp-inbox.ts';

/**
 * Email notifications end to end: the real server mails through a real SMTP server (smtp-server) started
 * here. Addresses are set by the user themself, verified by a mailed code, and only opted-in, verified
 * users of the job's tenant get its email.
 */
describe('user notifications through the real server', { timeout: 90_000 }, () => {
  let server: TestServer;
  let inbox: SmtpInbox;

  beforeAll(async () => {
    inbox = await startSmtpInbox();
    server = await startTestServer({
      env: { SILOPOOL_SMTP_URL: inbox.url, SILOPOOL_SMTP_FROM: 'Silopool <noreply@silopool.test>' },
    });
  });

  afterAll(async () => {
    await server?.stop();
    await inbox?.close();
  });

  it('a finished job is mailed to its tenant’s opted-in, verified users, naming the tenant and the job', async () => {
    const tenant = newTenantId('mail');
    const other = newTenantId('mail');
    await server.createTenant(tenant);
    await server.createTenant(other);
    const alice = await server.mintToken({ tenants: [tenant], user: `alice-${tenant}` });
    const bob = await server.mintToken({ tenants: [tenant], user: `bob-${tenant}` });
    const eve = await server.mintToken({ tenants: [other], user: `eve-${other}` });
    const aliceMail = `alice@${tenant}.test`;
    const bobMail = `bob@${tenant}.test`;
    const eveMail = `eve@${other}.test`;

    await optInToEmail(server, inbox, alice, tenant, aliceMail);
    await optInToEmail(server, inbox, eve, other, eveMail);
    // Bob names an address and opts in but never enters the code: it gets the code and nothing else.
    await server.api('/v1/me/notifications/email', {
      method: 'PUT',
      token: bob,
      tenant,
      body: JSON.stringify({ address: bobMail }),
    });
    await server.api('/v1/me/notifications', {
      method: 'PATCH',
      token: bob,
      tenant,
      body: JSON.stringify({ optIn: { email: true } }),
    });

    const submit = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: alice,
      tenant,
      body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    expect((await waitForJob(server, alice, id, { tenant })).status).toBe('succeeded');

    const mail = await inbox.waitFor((m) => m.to.includes(aliceMail) && m.subject.includes(id));
    expect(mail.subject).toContain(`[${tenant}]`);
    expect(mail.text).toContain(`Job ${id} of tenant ${tenant}`);
    expect(mail.text).toContain(`/t/${tenant}/jobs/${id}`);

    // Give a wrong delivery the time the right one took, then check nobody else got the job.
    await new Promise((r) => setTimeout(r, 1500));
    const aboutJob = inbox.mails.filter((m) => m.subject.includes(id));
    expect(aboutJob.map((m) => m.to)).toEqual([[aliceMail]]);
    expect(inbox.mails.filter((m) => m.to.includes(bobMail)).map((m) => m.subject)).toEqual([
      expect.stringMatching(/verification code/),
    ]);
  });

  it('settings belong to users: an API key is refused, a wrong code is refused and counted', async () => {
    const tenant = newTenantId('mail');
    const { apiKey } = await server.createTenant(tenant);
    const byKey = await server.api('/v1/me/notifications', { token: apiKey });
    expect(byKey.status).toBe(403);
    const setByKey = await server.api('/v1/me/notifications/email', {
      method: 'PUT',
      token: apiKey,
      body: JSON.stringify({ address: 'victim@example.com' }),
    });
    expect(setByKey.status).toBe(403);

    const carol = await server.mintToken({ tenants: [tenant], user: `carol-${tenant}` });
    const address = `carol@${tenant}.test`;
    const set = await server.api('/v1/me/notifications/email', {
      method: 'PUT',
      token: carol,
      tenant,
      body: JSON.stringify({ address }),
    });
    expect(set.status).toBe(202);
    const mail = await inbox.waitFor((m) => m.to.includes(address));
    const code = verificationCodeIn(mail.text);
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    const refused = await server.api('/v1/me/notifications/email/verify', {
      method: 'POST',
      token: carol,
      tenant,
      body: JSON.stringify({ code: wrong }),
    });
    expect(refused.status).toBe(400);
    // A second code within a minute is refused: a user cannot make the platform mail an address in a loop.
    const again = await server.api('/v1/me/notifications/email', {
      method: 'PUT',
      token: carol,
      tenant,
      body: JSON.stringify({ address: 'someone-else@example.com' }),
    });
    expect(again.status).toBe(429);
    const state = (await (await server.api('/v1/me/notifications', { token: carol, tenant })).json()) as {
      email: { verified: boolean; pending: boolean };
    };
    expect(state.email).toMatchObject({ verified: false, pending: true });
  });
  it('push subscriptions: only endpoints a webhook could use, replaced by endpoint, removable', async () => {
    const tenant = newTenantId('push');
    await server.createTenant(tenant);
    const dana = await server.mintToken({ tenants: [tenant], user: `dana-${tenant}` });
    const keys = {
      p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]).toString('base64url'),
      auth: Buffer.alloc(16, 9).toString('base64url'),
    };
    const subscribe = (endpoint: string) =>
      server.api('/v1/me/notifications/push', {
        method: 'POST',
        token: dana,
        tenant,
        body: JSON.stringify({ endpoint, expirationTime: null, keys }),
      });
    // The metadata service, loopback and plain http are refused as webhook targets are.
    for (const endpoint of [
      'https://169.254.169.254/latest/meta-data',
      'https://localhost/push',
      'http://push.example.com/x',
    ]) {
      const refused = await subscribe(endpoint);
      expect(refused.status, endpoint).toBe(400);
    }
    const endpoint = 'https://fcm.googleapis.com/fcm/send/abc123';
    expect((await subscribe(endpoint)).status).toBe(201);
    const again = await subscribe(endpoint);
    const settings = (await again.json()) as { push: { id: string; origin: string }[] };
    expect(settings.push).toEqual([expect.objectContaining({ origin: 'https://fcm.googleapis.com' })]);
    const id = settings.push[0]!.id;
    // Another user of the tenant neither sees nor removes it.
    const erin = await server.mintToken({ tenants: [tenant], user: `erin-${tenant}` });
    const theirs = (await (await server.api('/v1/me/notifications', { token: erin, tenant })).json()) as {
      push: unknown[];
    };
    expect(theirs.push).toEqual([]);
    const notMine = await server.api(`/v1/me/notifications/push/${id}`, {
      method: 'DELETE',
      token: erin,
      tenant,
    });
    expect(notMine.status).toBe(404);
    const removed = await server.api(`/v1/me/notifications/push/${id}`, {
      method: 'DELETE',
      token: dana,
      tenant,
    });
    expect(removed.status).toBe(204);
    const gone = await server.api(`/v1/me/notifications/push/${id}`, {
      method: 'DELETE',
      token: dana,
      tenant,
    });
    expect(gone.status).toBe(404);
  });
});

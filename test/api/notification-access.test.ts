import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optInToEmail } from '../support/email-opt-in.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { type SmtpInbox, startSmtpInbox } from '../support/smtp-inbox.ts';

/**
 * Notification settings outlived a user's access: once opted in, a user got every job's email for as long as
 * the settings were stored, though the token that granted them the tenant had long expired and no new one
 * was given (their access ended). Now a user hears about jobs only while a token of theirs grants the
 * tenant: each request of theirs extends it to that token's end.
 */
describe('notifications after a user lost access', { timeout: 90_000 }, () => {
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

  it('a user whose token expired gets nothing; one who came back with a new token gets mail again', async () => {
    const tenant = newTenantId('access');
    const { apiKey } = await server.createTenant(tenant);
    const user = (name: string, expiresIn?: string) =>
      server.mintToken({ tenants: [tenant], user: `${name}-${tenant}`, ...(expiresIn ? { expiresIn } : {}) });
    const [gone, back, stays] = ['gone', 'back', 'stays'].map((n) => `${n}@${tenant}.test`) as [
      string,
      string,
      string,
    ];
    await optInToEmail(server, inbox, await user('gone', '6s'), tenant, gone);
    await optInToEmail(server, inbox, await user('back', '6s'), tenant, back);
    await optInToEmail(server, inbox, await user('stays'), tenant, stays);
    await new Promise((r) => setTimeout(r, 7000));
    // `back` is given a new token and uses the tenant (any request): their access is renewed.
    const again = await server.api('/v1/jobs', { token: await user('back'), tenant });
    expect(again.status).toBe(200);

    const submit = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
    await inbox.waitFor((m) => m.to.includes(stays) && m.subject.includes(id));
    await inbox.waitFor((m) => m.to.includes(back) && m.subject.includes(id));
    // Give a wrong delivery the time the right ones took.
    await new Promise((r) => setTimeout(r, 1500));
    const aboutJob = inbox.mails.filter((m) => m.subject.includes(id)).flatMap((m) => m.to);
    expect(aboutJob.sort()).toEqual([back, stays].sort());
  });
});

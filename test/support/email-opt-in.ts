import { expect } from 'vitest';
import type { TestServer } from './server.ts';
import type { SmtpInbox } from './smtp-inbox.ts';

/** The code of a verification mail's text (`Enter 123456 …`), or '' when it has none. */
export const verificationCodeIn = (text: string) => /Enter (\d{6}) /.exec(text)?.[1] ?? '';

/**
 * What a user does in the portal's Notifications page: sets `address` for the token's user in `tenant`,
 * enters the code mailed to it (read from `inbox`), and opts in to email. Asserts each step's answer.
 */
export async function optInToEmail(
  server: TestServer,
  inbox: SmtpInbox,
  token: string,
  tenant: string,
  address: string,
): Promise<void> {
  const set = await server.api('/v1/me/notifications/email', {
    method: 'PUT',
    token,
    tenant,
    body: JSON.stringify({ address }),
  });
  expect(set.status).toBe(202);
  const mail = await inbox.waitFor((m) => m.to.includes(address) && /verification code/.test(m.subject));
  const verify = await server.api('/v1/me/notifications/email/verify', {
    method: 'POST',
    token,
    tenant,
    body: JSON.stringify({ code: verificationCodeIn(mail.text) }),
  });
  expect(verify.status).toBe(200);
  const on = await server.api('/v1/me/notifications', {
    method: 'PATCH',
    token,
    tenant,
    body: JSON.stringify({ optIn: { email: true } }),
  });
  expect(on.status).toBe(200);
  expect(await on.json()).toMatchObject({ optIn: { email: true }, email: { address, verified: true } });
}

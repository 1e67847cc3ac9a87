import { mkdtempSync, rmSync } from 'node:fs';
import { isIP, type LookupFunction } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { checkWebhookUrl, parseWebhookTargetPolicy } from '../../src/core/webhook-target.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import {
  connectionFailure,
  deliverWebhook,
  WebhookDeliveryError,
} from '../../src/functions/webhook-delivery.ts';
import { tenantDataFor } from '../../src/ports/placement-data.ts';
import { makeJob } from '../contract/fixtures.ts';
import { newTenantId } from '../support/server.ts';
import { type Receiver, startReceiver } from './webhook-fixtures.ts';

// DNS rebinding: a name that looked public when the webhook was registered resolves to an internal address
// when it is delivered. The name server is the attacker's, so the test plays it: the delivery's resolver
// answers what an attacker's would. Everything else is real (SQLite, the signed POST, a receiver on
// 127.0.0.1), and the control case proves the answer is really used to connect.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let dir: string;
let platform: EmbeddedPlatform;
let hook: Receiver;
let message: string;
let jobId: string;

/** A resolver that answers `address` for every name, as a rebinding name server does at delivery. */
function resolvingTo(address: string): LookupFunction {
  const family = isIP(address);
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-rebind-'));
  platform = openEmbeddedPlatform(dir);
  hook = await startReceiver();
  const url = `http://hooks.rebind.example:${new URL(hook.url).port}/hook`;
  const { tenant } = await createTenant(platform, {
    id: parseTenantId(newTenantId('rebind')),
    name: 'Rebind',
    config: { webhook: { url, secret: SECRET } },
  });
  const job = makeJob(tenant.id, { status: 'succeeded' });
  await tenantDataFor(platform.stores, tenant).jobs.create(job);
  jobId = job.id;
  message = JSON.stringify({ tenantId: tenant.id, jobId, status: 'succeeded', version: 1 });
});
afterAll(async () => {
  await hook?.close();
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a webhook whose name rebinds to an internal address at delivery', () => {
  const policy = parseWebhookTargetPolicy({ allowHttp: '1' });
  const deps = (lookup: LookupFunction, p = policy) => ({ ...platform, policy: p, lookup, timeoutMs: 3000 });

  it('looked public when registered', () => {
    expect(
      checkWebhookUrl(`http://hooks.rebind.example:${new URL(hook.url).port}/hook`, policy),
    ).toMatchObject({
      ok: true,
      allowlisted: false,
    });
  });

  it.each([
    '127.0.0.1',
    '127.9.9.9',
    '::1',
    '::ffff:127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    'fd00::1',
    'fe80::1',
    '0.0.0.0',
    '::',
    // IPv4-compatible IPv6 (::/96, deprecated): ipaddr.js calls it unicast; found by attacking the fix
    '::7f00:1',
    '::a9fe:a9fe',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
  ])('is refused when the name resolves to %s, and nothing is sent', async (address) => {
    const before = hook.requests.length;
    const refusal = await deliverWebhook(deps(resolvingTo(address)), message).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(WebhookDeliveryError);
    expect((refusal as WebhookDeliveryError).refused).toBe(true);
    expect((refusal as Error).message).toContain(`for job ${jobId} refused: private address`);
    // The message becomes the tenant's `lastError`: it must not tell what the platform's DNS answered.
    expect((refusal as Error).message).not.toContain(address);
    expect(hook.requests.length).toBe(before);
  });

  it('is delivered through that same answer when the operator allowlists the address (the control)', async () => {
    const allowed = parseWebhookTargetPolicy({ allowHttp: '1', allowHosts: '127.0.0.1' });
    const before = hook.requests.length;
    await deliverWebhook(deps(resolvingTo('127.0.0.1'), allowed), message);
    expect(hook.requests.length).toBe(before + 1);
    const delivery = hook.requests.at(-1)!;
    expect(delivery.headers.host).toBe(`hooks.rebind.example:${new URL(hook.url).port}`);
    expect(
      new Webhook(SECRET).verify(delivery.body, delivery.headers as Record<string, string>),
    ).toMatchObject({
      type: 'job.succeeded',
      data: { id: jobId },
    });
  });

  it('reaches private addresses for an allowlisted name, never the unspecified one', async () => {
    const named = parseWebhookTargetPolicy({ allowHttp: '1', allowHosts: '*.rebind.example' });
    const before = hook.requests.length;
    // An IPv4 answer is checked against the IPv6 deny range without a warning per connection (the agent's
    // own deny list printed "Invalid CIDR" for every IPv4 address).
    const warn = vi.spyOn(console, 'warn');
    await deliverWebhook(deps(resolvingTo('127.0.0.1'), named), message);
    await expect(deliverWebhook(deps(resolvingTo('0.0.0.0'), named), message)).rejects.toBeDefined();
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
    expect(hook.requests.length).toBe(before + 1);
    await expect(deliverWebhook(deps(resolvingTo('0.0.0.0'), named), message)).rejects.toMatchObject({
      refused: true,
    });
    expect(hook.requests.length).toBe(before + 1);
  });
});

describe("a delivery that fails to connect, as the tenant's lastError tells it", () => {
  const allowed = parseWebhookTargetPolicy({ allowHttp: '1', allowHosts: '127.0.0.1' });
  const failing: LookupFunction = ((_host: string, _options: unknown, callback: (...a: unknown[]) => void) =>
    callback(
      Object.assign(new Error('getaddrinfo ENOTFOUND hooks.rebind.example via resolver 10.0.0.2'), {
        code: 'ENOTFOUND',
      }),
    )) as LookupFunction;

  it('names the kind of failure (refused, not found), never the address or the raw message', async () => {
    // A port nothing listens on: the receiver's, once closed.
    const closed = await startReceiver();
    const port = new URL(closed.url).port;
    await closed.close();
    const { tenant } = await createTenant(platform, {
      id: parseTenantId(newTenantId('refused')),
      name: 'Refused',
      config: { webhook: { url: `http://hooks.rebind.example:${port}/hook`, secret: SECRET } },
    });
    const job = makeJob(tenant.id, { status: 'succeeded' });
    await tenantDataFor(platform.stores, tenant).jobs.create(job);
    const body = JSON.stringify({ tenantId: tenant.id, jobId: job.id, status: 'succeeded', version: 1 });
    const deps = (lookup: LookupFunction) => ({ ...platform, policy: allowed, lookup, timeoutMs: 3000 });

    const refused = (await deliverWebhook(deps(resolvingTo('127.0.0.1')), body).catch(
      (e: unknown) => e,
    )) as Error;
    expect(refused).toBeInstanceOf(WebhookDeliveryError);
    expect(refused.message).toBe(
      `webhook of ${tenant.id} for job ${job.id} not delivered: connection refused`,
    );
    expect((refused.cause as Error).message).toContain('127.0.0.1');

    const unknown = (await deliverWebhook(deps(failing), body).catch((e: unknown) => e)) as Error;
    expect(unknown.message).toBe(
      `webhook of ${tenant.id} for job ${job.id} not delivered: host name not found`,
    );
    expect(unknown.message).not.toContain('10.0.0.2');
  });

  it.each([
    [
      { code: 'CERT_HAS_EXPIRED', message: 'certificate has expired: CN=db.internal' },
      'TLS handshake failed (CERT_HAS_EXPIRED)',
    ],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'TLS handshake failed (ERR_TLS_CERT_ALTNAME_INVALID)'],
    [{ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'TLS handshake failed (DEPTH_ZERO_SELF_SIGNED_CERT)'],
    [{ name: 'TimeoutError', message: 'The operation was aborted due to timeout' }, 'timed out'],
    [{ code: 'ECONNRESET' }, 'connection reset'],
    [{ code: 'EHOSTUNREACH' }, 'host unreachable'],
    [{ code: 'EWHATEVER' }, 'network error (EWHATEVER)'],
    [{ code: 'at 10.0.0.7: no\r\nX: y' }, 'network error'],
    [new Error('socket hang up 10.0.0.9'), 'network error'],
    [undefined, 'network error'],
  ])('tells %o as "%s"', (error, text) => {
    expect(connectionFailure(error)).toBe(text);
  });
});

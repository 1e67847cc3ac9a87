import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkAddress,
  checkWebhookUrl,
  parseWebhookTargetPolicy,
  STRICT_WEBHOOK_POLICY,
} from '../../src/core/webhook-target.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import {
  eventually,
  INTERNAL_TARGETS,
  MALFORMED_TARGETS,
  PUBLIC_TARGETS,
  type Receiver,
  startReceiver,
} from './webhook-fixtures.ts';

// Webhooks must not become a way into the platform's own network (server-side request forgery): internal
// targets are refused when registered, in every spelling, and again against the address a delivery
// actually reaches; a redirect is never followed. Operators widen this explicitly, as these tests do
// for their own receivers on 127.0.0.1.

describe('the webhook target rule (pure)', () => {
  it.each(INTERNAL_TARGETS)('refuses %s as an internal %s', (url, kind) => {
    const check = checkWebhookUrl(url, STRICT_WEBHOOK_POLICY);
    expect(check).toMatchObject({ ok: false, kind });
    // Plain http allowed changes nothing about where it may point.
    expect(
      checkWebhookUrl(url.replace('https:', 'http:'), { ...STRICT_WEBHOOK_POLICY, allowHttp: true }),
    ).toMatchObject({ ok: false, kind });
  });

  it.each(MALFORMED_TARGETS)('refuses %s (%s)', (url, rule) => {
    expect(checkWebhookUrl(url, STRICT_WEBHOOK_POLICY)).toMatchObject({
      ok: false,
      kind: rule.replace('webhook_', ''),
    });
  });

  it.each(PUBLIC_TARGETS)('accepts %s', (url) => {
    expect(checkWebhookUrl(url, STRICT_WEBHOOK_POLICY)).toMatchObject({ ok: true, allowlisted: false });
  });

  it('classifies an IPv4 address the same in every spelling WHATWG URL accepts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const octets = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
        const expected = checkAddress(octets.join('.'), STRICT_WEBHOOK_POLICY) === undefined;
        const spellings = [
          String(n),
          `0x${n.toString(16)}`,
          octets.map((o) => `0${o.toString(8)}`).join('.'),
          `${octets[0]}.${octets[1]}.${(octets[2]! << 8) | octets[3]!}`,
          `${octets[0]}.${n & 0xffffff}`,
          `[::ffff:${octets.join('.')}]`,
        ];
        for (const host of spellings) {
          const accepted = checkWebhookUrl(`https://${host}/`, STRICT_WEBHOOK_POLICY).ok;
          // The IPv4-mapped form is refused whatever it maps to: the delivery would see an IPv6 address.
          expect(accepted).toBe(host.startsWith('[') ? false : expected);
        }
      }),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('classifies addresses that ipaddr.js parses in odd spellings too', () => {
    for (const address of [
      '0x7f.0.0.1',
      '0177.0.0.1',
      '::ffff:7f00:1',
      '0:0:0:0:0:0:0:1',
      '169.254.169.254',
    ]) {
      expect(checkAddress(address, STRICT_WEBHOOK_POLICY)).toMatch(/^is an? /);
    }
    expect(checkAddress('8.8.8.8', STRICT_WEBHOOK_POLICY)).toBeUndefined();
    expect(checkAddress('not-an-ip', STRICT_WEBHOOK_POLICY)).toBe('is not an IP address');
  });

  it('lets the operator allow named hosts, addresses and ranges, and nothing near them', () => {
    const policy = parseWebhookTargetPolicy({
      allowHttp: '1',
      allowHosts: '127.0.0.1, [::1] 10.20.0.0/16,*.corp.example hooks.internal',
    });
    expect(policy.allowRanges).toEqual(['127.0.0.1/32', '::1/128', '10.20.0.0/16']);
    for (const url of ['http://127.0.0.1:9/', 'http://2130706433/', 'http://[::1]/', 'http://10.20.3.4/'])
      expect(checkWebhookUrl(url, policy)).toMatchObject({ ok: true, allowlisted: 'address' });
    for (const url of ['https://a.corp.example/', 'https://hooks.internal./'])
      expect(checkWebhookUrl(url, policy)).toMatchObject({ ok: true, allowlisted: 'name' });
    for (const url of [
      'http://127.0.0.2/',
      'http://[::ffff:127.0.0.1]/',
      'http://10.21.0.1/',
      'https://corp.example.internal/',
      'https://x.hooks.internal/',
      'http://user:pw@127.0.0.1/',
    ])
      expect(checkWebhookUrl(url, policy).ok).toBe(false);
  });

  it('refuses allowlist entries that are not plain names, addresses or ranges', () => {
    for (const entry of ['0x7f.1', '127.1', 'http://x', '10.0.0.0/33', 'a_b!']) {
      expect(() => parseWebhookTargetPolicy({ allowHosts: entry })).toThrow(/SILOPOOL_WEBHOOK_ALLOW_HOSTS/);
    }
    expect(parseWebhookTargetPolicy({}).allowHttp).toBe(false);
  });
});

describe('registering a webhook on the real server (default policy)', () => {
  let server: TestServer;
  let attacker: { id: string; apiKey: string };
  let bystander: { id: string; apiKey: string };
  const put = (apiKey: string, url: string) =>
    server.api('/v1/settings/webhook', { method: 'PUT', token: apiKey, body: JSON.stringify({ url }) });

  beforeAll(async () => {
    server = await startTestServer();
    attacker = { id: newTenantId('ssrf'), apiKey: '' };
    bystander = { id: newTenantId('by'), apiKey: '' };
    attacker.apiKey = (await server.createTenant(attacker.id)).apiKey;
    bystander.apiKey = (await server.createTenant(bystander.id)).apiKey;
    expect((await put(attacker.apiKey, 'https://hooks.example.com/first')).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function expectRefused(url: string, rule: string) {
    const res = await put(attacker.apiKey, url);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as {
      code: string;
      detail: string;
      errors: { path: string; rule: string }[];
    };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors).toEqual([expect.objectContaining({ path: '/body/url', rule })]);
    expect(problem.detail).toMatch(/^\/body\/url /);
    // Another tenant is served as before: it can still register a public target.
    const other = await put(bystander.apiKey, `https://hooks.example.com/${encodeURIComponent(url)}`);
    expect(other.status).toBe(200);
  }

  it.each(INTERNAL_TARGETS)('refuses %s (internal %s), and serves others after', async (url, kind) => {
    await expectRefused(url, `webhook_${kind}`);
  });

  it.each(MALFORMED_TARGETS)('refuses %s (%s), and serves others after', async (url, rule) => {
    await expectRefused(url, rule);
  });

  it('kept the webhook registered before the refusals, and accepts public targets', async () => {
    const res = await server.api(`/v1/admin/tenants/${attacker.id}`, { token: server.operatorToken });
    const tenant = (await res.json()) as { config: { webhook?: { url: string } } };
    expect(tenant.config.webhook?.url).toBe('https://hooks.example.com/first');
    for (const url of PUBLIC_TARGETS) expect((await put(attacker.apiKey, url)).status).toBe(200);
    expect((await server.api('/healthz')).status).toBe(200);
  });
});

describe('delivering a webhook on the real server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-webhooks-'));
  const DEV = { SILOPOOL_WEBHOOK_ALLOW_HTTP: '1', SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' };
  let server: TestServer;
  const receivers: Receiver[] = [];

  beforeAll(async () => {
    server = await startTestServer({ dataDir, env: DEV });
  });
  afterAll(async () => {
    await server?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
    const r = await startReceiver(answer);
    receivers.push(r);
    return r;
  }

  async function tenantHookedTo(url: string) {
    const id = newTenantId('hook');
    const { apiKey } = await server.createTenant(id);
    const set = await server.api('/v1/settings/webhook', {
      method: 'PUT',
      token: apiKey,
      body: JSON.stringify({ url }),
    });
    expect(set.status).toBe(200);
    return { id, apiKey, secret: ((await set.json()) as { secret: string }).secret };
  }

  async function finishJob(apiKey: string): Promise<string> {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: '{"input":{}}',
    });
    const { id } = (await res.json()) as { id: string };
    expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
    return id;
  }

  it('never follows a redirect: the 307 target receives nothing and the delivery counts as failed', async () => {
    const elsewhere = await receiver();
    const redirecting = await receiver((res) => res.writeHead(307, { location: elsewhere.url }).end());
    const { apiKey, secret } = await tenantHookedTo(redirecting.url);
    const jobId = await finishJob(apiKey);
    // Retried as a failure (a second attempt comes), never as a POST to the redirect's target.
    await eventually(
      () => redirecting.requests.length >= 2 || elsewhere.requests.length > 0,
      20_000,
      'a retried delivery',
    );
    expect(elsewhere.requests).toHaveLength(0);
    expect(redirecting.requests.length).toBeGreaterThanOrEqual(2);
    const first = redirecting.requests[0]!;
    expect(new Webhook(secret).verify(first.body, first.headers as Record<string, string>)).toMatchObject({
      data: { id: jobId },
    });
    expect(server.output()).toContain('answered 307; redirects are not followed');
  });

  it('checks a stored target again at delivery, after the operator narrowed the policy', async () => {
    const hook = await receiver();
    const { id, apiKey } = await tenantHookedTo(hook.url);
    await finishJob(apiKey);
    await eventually(() => hook.requests.length === 1, 15_000, 'the allowlisted delivery');

    // Plain http no longer allowed: the stored http URL is refused before any connection.
    await server.stop();
    server = await startTestServer({ dataDir, env: { SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' } });
    const second = await finishJob(apiKey);
    const schemeRefusal = `webhook of ${id} for job ${second} refused: must use https`;
    await eventually(() => server.output().includes(schemeRefusal), 15_000, 'the refusal log');

    // Loopback no longer allowlisted: refused as a private address, though it was allowed when stored.
    await server.stop();
    server = await startTestServer({ dataDir, env: { SILOPOOL_WEBHOOK_ALLOW_HTTP: '1' } });
    const third = await finishJob(apiKey);
    const addressRefusal = `webhook of ${id} for job ${third} refused: private address`;
    await eventually(() => server.output().includes(addressRefusal), 15_000, 'the refusal log');
    expect(hook.requests).toHaveLength(1);
    expect((await server.api('/healthz')).status).toBe(200);
    // Three server starts and three jobs: past the default 30 s on a loaded CI machine (it timed out once).
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

// What an operator (or a stolen operator session, or a script with bad data) can send to the release
// routes: prototype keys, ids that climb out of the releases folder, huge and odd numbers, long strings.
// Each is a 4xx problem naming the field, never a 500, and the tenant record stays as it was.
let server: TestServer;
let tenant: string;

beforeAll(async () => {
  server = await startTestServer();
  tenant = newTenantId('rin');
  await server.createTenant(tenant);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

async function send(method: string, path: string, body?: string) {
  const res = await server.api(path, {
    method,
    token: server.operatorToken,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, text: await res.text() };
}

describe('release routes with hostile input', () => {
  it('pins: prototype keys, unknown models, odd versions are 4xx and change nothing', async () => {
    for (const body of [
      '{"pins":{"__proto__":"1.0.0"}}',
      '{"pins":{"constructor":"1.0.0"}}',
      '{"pins":{"constructor":{"prototype":{"x":1}}}}',
      '{"pins":{"toString":"1.0.0"}}',
      '{"pins":{"hasOwnProperty":"1.0.0"}}',
      '{"pins":{"finance":"../../../etc"}}',
      '{"pins":{"finance":"1.0.0\\u0000"}}',
      `{"pins":{"finance":"${'9'.repeat(19)}.0.0"}}`,
      '{"pins":{"finance":1}}',
      '{"pins":[]}',
      '{"pins":null}',
      '{"__proto__":{"pins":{}}}',
      `{"pins":{${Array.from({ length: 51 }, (_, i) => `"m${i}":"1.0.0"`).join(',')}}}`,
    ]) {
      const res = await send('PUT', `/v1/admin/tenants/${tenant}/pins`, body);
      expect(res.status, `${body} → ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${body} → ${res.text}`).toBeLessThan(500);
    }
    const record = JSON.parse((await send('GET', `/v1/admin/tenants/${tenant}`)).text) as Record<
      string,
      unknown
    >;
    expect(record.pins).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('region: wildcards, other partitions, long and odd strings are 4xx', async () => {
    for (const region of [
      '*',
      'eu-*',
      'us-east-1*',
      'x'.repeat(41),
      '../us-east-1',
      'us-east-1\n',
      '',
      'cn-north-1',
    ]) {
      const res = await send('PUT', `/v1/admin/tenants/${tenant}/region`, JSON.stringify({ region }));
      expect(res.status, `${JSON.stringify(region)} → ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${JSON.stringify(region)} → ${res.text}`).toBeLessThan(500);
    }
    const record = JSON.parse((await send('GET', `/v1/admin/tenants/${tenant}`)).text) as Record<
      string,
      unknown
    >;
    expect(record.region).toBeUndefined();
  });

  it('release ids that climb out of the releases folder, or are long or odd, are 404', async () => {
    for (const id of [
      '..',
      '%2e%2e',
      '..%2f..%2fetc',
      'a%2f..%2f..',
      `${'a'.repeat(300)}`,
      '%00',
      '__proto__',
      'constructor',
    ]) {
      for (const [method, path, body] of [
        ['GET', `/v1/admin/releases/${id}`, undefined],
        ['POST', `/v1/admin/releases/${id}/rollout`, '{}'],
      ] as const) {
        const res = await send(method, path, body);
        expect([400, 404, 414], `${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`).toContain(
          res.status,
        );
      }
    }
  });

  it('rollout options out of range, of the wrong type or naming no tenant are 4xx', async () => {
    for (const body of [
      '{"growth":1e308}',
      '{"growth":0}',
      '{"growth":-1}',
      '{"maxWave":1.5}',
      '{"maxWave":1e20}',
      '{"observeSec":1e300}',
      '{"observeSec":-1}',
      '{"canary":"__proto__"}',
      '{"canary":"constructor"}',
      `{"canary":"${'a'.repeat(10_000)}"}`,
      '{"canary":"nobody-here"}',
      '{"canary":{"$ne":null}}',
      '{"extra":1}',
      '[]',
      '"x"',
    ]) {
      const res = await send('POST', '/v1/admin/releases/builtin/rollout', body);
      expect(res.status, `${body.slice(0, 80)} → ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${body.slice(0, 80)} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
    }
  });

  it('onboarding with a Region not configured, a wildcard or an odd string is refused; nothing is created', async () => {
    for (const region of ['ap-south-1', '*', 'eu-*', '../x', 'us-east-1\n', '__proto__', 'x'.repeat(41)]) {
      for (const placement of ['shared', 'dedicated']) {
        const id = newTenantId('rg');
        const res = await send(
          'POST',
          '/v1/admin/tenants',
          JSON.stringify({ id, name: 'R', placement, region }),
        );
        expect(
          res.status,
          `${placement} ${JSON.stringify(region)} → ${res.text.slice(0, 300)}`,
        ).toBeGreaterThanOrEqual(400);
        expect(res.status, `${placement} ${JSON.stringify(region)} → ${res.text.slice(0, 300)}`).toBeLessThan(
          500,
        );
        expect((await send('GET', `/v1/admin/tenants/${id}`)).status).toBe(404);
      }
    }
  });
});

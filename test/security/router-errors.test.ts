import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { type RawResponse, rawGet, rawRequest } from './raw-http.ts';

function expectProblem(res: RawResponse, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as { status: number; code: string; type: string; title: string };
  expect(body).toMatchObject({ status, code, type: `https://silopool.dev/problems/${code}` });
  expect(body.title).toBeTruthy();
  // Answers written before Fastify's hooks carry the protective headers too (found attacking the fix).
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['content-security-policy']).toMatch(/default-src '(none|self)'/);
}

let plain: TestServer;
beforeAll(async () => {
  plain = await startTestServer();
});
afterAll(async () => {
  await plain?.stop();
});

describe('every error the server sends is problem+json with a stable code', () => {
  it('a URL whose percent-encoding is not UTF-8 → 400 bad_url', async () => {
    expectProblem(await rawGet(plain.url, '/v1/jobs/%E0%A4%A'), 400, 'bad_url');
  });

  it('a path parameter past the router limit → 414 uri_too_long', async () => {
    expectProblem(await rawGet(plain.url, `/v1/jobs/j_${'a'.repeat(300)}`), 414, 'uri_too_long');
  });

  it('headers larger than the server accepts → 431 headers_too_large', async () => {
    expectProblem(
      await rawGet(plain.url, '/healthz', `X-Big: ${'b'.repeat(20_000)}\r\n`),
      431,
      'headers_too_large',
    );
  });

  it('a request line longer than the header limit → 431 headers_too_large', async () => {
    expectProblem(await rawGet(plain.url, `/healthz?q=${'q'.repeat(20_000)}`), 431, 'headers_too_large');
  });

  it('an Expect other than 100-continue → 417 expectation_failed, not an empty body', async () => {
    const res = await rawRequest(plain.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n');
    expectProblem(res, 417, 'expectation_failed');
  });

  it('CONNECT → 405 method_not_allowed, not a closed connection', async () => {
    const res = await rawRequest(plain.url, 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n');
    expectProblem(res, 405, 'method_not_allowed');
  });

  it('a malformed header line → 400 malformed_request', async () => {
    const res = await rawRequest(
      plain.url,
      'GET /healthz HTTP/1.1\r\nHost: localhost\r\nBroken header\r\n\r\n',
    );
    expectProblem(res, 400, 'malformed_request');
  });

  it('a method that is not an HTTP token → 400 malformed_request', async () => {
    expectProblem(
      await rawRequest(plain.url, 'G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n'),
      400,
      'malformed_request',
    );
  });

  it('a request that is not HTTP at all → 400 malformed_request', async () => {
    expectProblem(
      await rawRequest(plain.url, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n'),
      400,
      'malformed_request',
    );
  });

  describe('with a valid credential', () => {
    let tenant: string;
    let token: string;
    beforeAll(async () => {
      tenant = newTenantId('errs');
      await plain.createTenant(tenant);
      token = await plain.mintToken({ tenants: [tenant], user: 'u' });
    });
    const post = (body: string, contentType = 'application/json') =>
      rawRequest(
        plain.url,
        `POST /v1/models/finance/jobs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${token}\r\n` +
          `X-Tenant-Id: ${tenant}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Connection: close\r\n\r\n${body}`,
      );

    it('a body over the limit → 413 body_too_large', async () => {
      expectProblem(
        await post(JSON.stringify({ input: { pad: 'x'.repeat(300_000) } })),
        413,
        'body_too_large',
      );
    });

    it('a body that is not JSON → 415 unsupported_media_type', async () => {
      expectProblem(
        await post('revenue=1', 'application/x-www-form-urlencoded'),
        415,
        'unsupported_media_type',
      );
    });

    it('JSON that does not parse → 400 invalid_json', async () => {
      expectProblem(await post('{"input": {'), 400, 'invalid_json');
    });

    it('a route that does not exist → 404 not_found', async () => {
      expectProblem(await rawGet(plain.url, '/v1/no-such-route'), 404, 'not_found');
    });

    it('a method a route does not have → 404 not_found', async () => {
      const res = await rawRequest(
        plain.url,
        'PATCH /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      );
      expectProblem(res, 404, 'not_found');
    });

    it('after all of these the server still serves the tenant', async () => {
      const res = await plain.api('/v1/models/finance/jobs', {
        method: 'POST',
        token,
        tenant,
        body: JSON.stringify({ input: { revenue: 2_000_000, years: 5 } }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      expect((await waitForJob(plain, token, id, { tenant })).status).toBe('succeeded');
      expect((await fetch(`${plain.url}/healthz`)).status).toBe(200);
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

/**
 * `/healthz` is public (load balancers, the CLI's probe): anyone learns `ok` or `degraded`. How much disk
 * is left tells whoever would fill it (a tenant submitting big jobs) how far there is to go: the figures
 * are for operators, as `/metrics` is.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('/healthz', () => {
  it('answers the status to anyone, the disk figures only with an operator credential', async () => {
    const { apiKey } = await server.createTenant(newTenantId('probe'));
    for (const token of [undefined, apiKey, 'not-a-token']) {
      const res = await server.api('/healthz', token ? { token } : {});
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
    const operator = await server.api('/healthz', { token: server.operatorToken });
    expect(await operator.json()).toMatchObject({
      status: 'ok',
      disk: { freeBytes: expect.any(Number), minFreeBytes: expect.any(Number) },
    });
  });
});

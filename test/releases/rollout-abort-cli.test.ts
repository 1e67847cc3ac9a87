import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { publishRelease } from './fixtures.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

type Op = { id: string; status: string; error?: { code: string; message: string } };

// An operator could start an upgrade but not stop one: no route, no command.
describe('silopool release abort', () => {
  it('stops a running upgrade, rolls its wave back, and the route answers problems for the rest', async () => {
    const tenant = newTenantId('abort');
    await server.createTenant(tenant, { placement: 'dedicated' });
    publishRelease(server.dataDir, 'r-abort', {
      models: { finance: { version: '1.9.0', body: "version: '1.9.0'" } },
    });
    const started = await server.api('/v1/admin/releases/r-abort/rollout', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ observeSec: 600 }),
    });
    expect(started.status, await started.clone().text()).toBe(202);
    const { id } = (await started.json()) as Op;

    const env = { ...process.env, SILOPOOL_URL: server.url, SILOPOOL_TOKEN: server.operatorToken };
    const { stdout } = await run(
      process.execPath,
      [BIN, 'release', 'abort', id, '--reason', 'the canary looks wrong'],
      { env },
    );
    expect(stdout).toMatch(
      new RegExp(`^Upgrade ${id}: failed \\(aborted\\): Aborted at .*: the canary looks wrong\\.`),
    );
    const op = (await (
      await server.api(`/v1/admin/operations/${id}`, { token: server.operatorToken })
    ).json()) as Op;
    expect(op.error?.code).toBe('aborted');
    const record = (await (
      await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })
    ).json()) as { release?: string };
    expect(record.release).toBeUndefined();

    for (const [path, status, code] of [
      [`/v1/admin/rollouts/${id}/abort`, 409, 'rollout_ended'],
      ['/v1/admin/rollouts/op_nosuch/abort', 404, 'not_found'],
    ] as const) {
      const res = await server.api(path, { method: 'POST', token: server.operatorToken, body: '{}' });
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { code: string }).code).toBe(code);
    }
  }, 60_000);
});

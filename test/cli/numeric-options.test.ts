import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function cli(...args: string[]) {
  const env = { ...process.env, SILOPOOL_URL: server.url, SILOPOOL_TOKEN: server.operatorToken };
  return run(process.execPath, [BIN, ...args], { env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

/**
 * `silopool release rollout r --growth 0` passed the CLI's own check (a number ≥ 0), was sent, and the
 * server's answer printed `Bad Request: body/growth must be >= 1`: a path without its slash, said twice.
 * The CLI's numeric options now check the server's ranges before anything is sent, and say them.
 */
describe('numeric CLI options', () => {
  it('are refused before anything is sent, with the range they may take', async () => {
    const tenant = newTenantId('grace');
    await server.createTenant(tenant);
    const cases: [string[], RegExp][] = [
      [['release', 'rollout', 'builtin', '--growth', '0'], /"0" is not allowed: use a number from 1 to 10\./],
      [
        ['release', 'rollout', 'builtin', '--growth', '11'],
        /"11" is not allowed: use a number from 1 to 10\./,
      ],
      [['release', 'rollout', 'builtin', '--growth', 'abc'], /"abc" is not allowed/],
      [
        ['release', 'rollout', 'builtin', '--observe', '1e9'],
        /"1e9" is not allowed: use a number from 0 to 86400 seconds\./,
      ],
      [
        ['tenants', 'keys', 'rotate', tenant, 'k1', '--grace', '604801'],
        /"604801" is not allowed: use a whole number from 0 to 604800 seconds\./,
      ],
      [['tenants', 'keys', 'rotate', tenant, 'k1', '--grace', '1.5'], /use a whole number/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    // Nothing was started.
    const rollouts = await server.api('/v1/admin/rollouts', { token: server.operatorToken });
    expect(((await rollouts.json()) as { items: unknown[] }).items).toEqual([]);
  }, 60_000);

  it("the server's validation problem names the field with its slash, once", async () => {
    const res = await server.api('/v1/admin/releases/builtin/rollout', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ growth: 0 }),
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { detail: string; errors: { path: string }[] };
    expect(problem.detail).toBe('/body/growth must be >= 1');
    expect(problem.errors[0]?.path).toBe('/body/growth');
  });
});

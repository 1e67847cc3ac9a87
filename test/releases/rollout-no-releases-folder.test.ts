import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

type Op = { id: string; status: string };

/**
 * A platform that never had a release installed has no releases folder. Rolling it to `builtin` (a rollback,
 * or an upgrade asked by hand) failed to write the pointer there (ENOENT) on every try: the operation was
 * driven again forever and every later upgrade was refused with 409 `rollout_in_progress`.
 */
describe('an upgrade on a platform without a releases folder', () => {
  it('to the built-in release ends, and the next upgrade is not refused', async () => {
    for (let round = 0; round < 2; round++) {
      const res = await server.api('/v1/admin/releases/builtin/rollout', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ observeSec: 0 }),
      });
      expect(res.status, await res.clone().text()).toBe(202);
      const { id } = (await res.json()) as Op;
      await expect
        .poll(async () => {
          const op = await server.api(`/v1/admin/operations/${id}`, { token: server.operatorToken });
          return ((await op.json()) as Op).status;
        })
        .toBe('succeeded');
    }
    expect(server.output()).not.toContain('upgrade step failed');
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { publishRelease, type RolloutView, startRollout } from './fixtures.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/**
 * A damaged release pointer (current.json naming no release) answers 503 release_pointer_damaged (the list
 * answers 200 with it in `pointer`, current null), whose
 * message tells the operator to roll a release out to rewrite it. The rollout itself read the pointer
 * first and failed with the same 503: the way out the message named was closed. Past that, its wave never
 * ended: the dedicated host's sync read the pointer too and failed whole, so no lane followed the wave.
 */
describe('a damaged release pointer', () => {
  it('is rewritten by rolling a release out, the way out its error names', async () => {
    const tenant = newTenantId('dp');
    await server.createTenant(tenant, { placement: 'dedicated' });
    publishRelease(server.dataDir, 'r-fix', {
      models: { finance: { version: '1.0.1', body: "version: '1.0.1'" } },
    });
    for (const damaged of ['{"id": 5}', '{"id": "r-1"']) {
      writeFileSync(join(server.dataDir, 'releases', 'current.json'), damaged);
      // The list answers with the problem, so an operator (the console) can pick the release to roll out.
      const list = await server.api('/v1/admin/releases', { token: server.operatorToken });
      expect(list.status).toBe(200);
      const listed = (await list.json()) as {
        current: string | null;
        pointer?: { code: string };
        items: { id: string; current: boolean }[];
      };
      expect(listed).toMatchObject({ current: null, pointer: { code: 'release_pointer_damaged' } });
      expect(listed.items.map((r) => r.id)).toContain('r-fix');
      expect(listed.items.every((r) => !r.current)).toBe(true);
      const one = await server.api('/v1/admin/releases/r-fix', { token: server.operatorToken });
      expect(((await one.json()) as { code: string }).code).toBe('release_pointer_damaged');

      const started = await startRollout(server, 'r-fix', { observeSec: 0 });
      await expect
        .poll(
          async () => {
            const op = await server.api(`/v1/admin/operations/${started.id}`, {
              token: server.operatorToken,
            });
            return ((await op.json()) as RolloutView).status;
          },
          { timeout: 20_000 },
        )
        .toBe('succeeded');
      const after = await server.api('/v1/admin/releases', { token: server.operatorToken });
      expect(after.status).toBe(200);
      expect(((await after.json()) as { current: string }).current).toBe('r-fix');
      // The dedicated tenant followed the pointer, which named nothing: the rollout gave it the release.
      const record = await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken });
      expect(((await record.json()) as { release?: string }).release).toBe('r-fix');
    }
  });
});

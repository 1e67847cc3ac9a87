import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPrebuilt, isFresh, PREBUILT_DIR } from '../../src/runtime/prebuilt.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

describe('dedicated functions start from prebuilt JavaScript', () => {
  it('a bundle is stale as soon as a source it was built from changes', () => {
    buildPrebuilt('function-process');
    expect(isFresh('function-process')).toBe(true);
    const manifestFile = `${PREBUILT_DIR}/function-process.inputs.json`;
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, { size: number }>;
    const [first] = Object.keys(manifest).filter((f) => f.startsWith('src/'));
    expect(first).toBeDefined();
    manifest[first!]!.size += 1;
    writeFileSync(manifestFile, JSON.stringify(manifest));
    expect(isFresh('function-process')).toBe(false);
    buildPrebuilt('function-process');
    expect(isFresh('function-process')).toBe(true);
  });

  it("the server forks a dedicated tenant's function from the bundle, without tsx, and it runs jobs", async () => {
    const server = await startTestServer();
    servers.push(server);
    const tenant = newTenantId('prebuilt');
    const { apiKey } = await server.createTenant(tenant, { placement: 'dedicated' });
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { revenue: 1000 } }),
    });
    const { id } = (await res.json()) as { id: string };
    expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
    const functions = (await (
      await server.api('/v1/admin/functions', { token: server.operatorToken })
    ).json()) as {
      items: { tenantId: string; pid?: number }[];
    };
    const fn = functions.items.find((f) => f.tenantId === tenant && f.pid !== undefined);
    expect(fn).toBeDefined();
    const cmdline = readFileSync(`/proc/${fn!.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline.some((a) => a.endsWith('dist/functions/function-process.mjs'))).toBe(true);
    expect(cmdline.some((a) => a.includes('tsx'))).toBe(false);
  });
});

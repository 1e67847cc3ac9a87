import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

async function apply(yaml: string, ...args: string[]): Promise<string> {
  const file = join(server.dataDir, 'tenants.yaml');
  writeFileSync(file, yaml);
  const { stdout } = await run(
    process.execPath,
    [BIN, 'apply', file, '--export-dir', server.dataDir, '--yes', ...args],
    {
      env: { ...process.env, DATA_DIR: server.dataDir },
    },
  );
  return stdout;
}

async function tenant(id: string) {
  const res = await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken });
  return res.status === 200
    ? ((await res.json()) as Record<string, unknown> & { config: Record<string, unknown> })
    : undefined;
}

describe('silopool apply tenants.yaml', () => {
  it('shows a plan, then creates, updates, moves and offboards until the platform matches the file', async () => {
    const [a, b, c] = [newTenantId('apa'), newTenantId('apb'), newTenantId('apc')];
    const first = await apply(`tenants:
  - id: ${a}
    name: Alpha
    plan: free
  - id: ${b}
    name: Beta
    placement: dedicated
`);
    expect(first).toContain('Plan (2 changes):');
    expect(first).toContain(`+ create   ${a} (shared, free)`);
    expect(first).toContain(`+ create   ${b} (dedicated, standard)`);
    expect(first).toMatch(new RegExp(`API key of ${a} \\(shown once\\): sp_${a}_`));
    expect((await tenant(b))?.placement).toBe('dedicated');

    const dryRun = await apply(
      `tenants:
  - id: ${a}
    plan: standard
`,
      '--dry-run',
    );
    expect(dryRun).toContain(`~ update   ${a}: plan free → standard`);
    expect((await tenant(a))?.plan).toBe('free');

    const second = await apply(`tenants:
  - id: ${a}
    name: Alpha
    plan: standard
    config:
      formatting: { companyName: Alpha Capital, currency: EUR }
  - id: ${b}
    name: Beta
    placement: shared
  - id: ${c}
    name: Gamma
`);
    expect(second).toContain(`+ create   ${c} (shared, standard)`);
    expect(second).toContain(`~ update   ${a}: plan free → standard, config.formatting`);
    expect(second).toContain(`> move     ${b}: dedicated → shared`);
    expect(second.indexOf('+ create')).toBeLessThan(second.indexOf('~ update'));
    expect((await tenant(a))?.plan).toBe('standard');
    expect((await tenant(a))?.config.formatting).toEqual({ companyName: 'Alpha Capital', currency: 'EUR' });
    expect((await tenant(b))?.placement).toBe('shared');
    expect(existsSync(join(server.dataDir, 'tenants', b))).toBe(false);

    const third = await apply(`tenants:
  - id: ${a}
    offboard: true
  - id: ${b}
    name: Beta
    placement: shared
`);
    expect(third).toContain(`- offboard ${a} (exported first)`);
    expect(existsSync(join(server.dataDir, `${a}-export.zip`))).toBe(true);
    expect(await tenant(a)).toBeUndefined();

    const again = await apply(`tenants:
  - id: ${a}
    offboard: true
  - id: ${b}
    name: Beta
    placement: shared
`);
    expect(again).toContain('Plan: no changes.');
  }, 90_000);
});

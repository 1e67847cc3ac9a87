import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN } from '../../src/core/tenant.ts';
import { newTenantId, startTestServer, waitForJob } from '../support/server.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

async function cli(dataDir: string, ...args: string[]) {
  return run(process.execPath, [BIN, ...args], { env: { ...process.env, DATA_DIR: dataDir } });
}

describe('the silopool CLI', () => {
  it('works on a DATA_DIR with no server running, with --json for scripts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-cli-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const id = newTenantId('acme');
    const created = JSON.parse(
      (await cli(dataDir, 'tenants', 'create', id, '--name', 'Acme Capital', '--json')).stdout,
    );
    // One default plan on every way in: the CLI's is the API's and the console's (test/web/pure.test.ts).
    expect(created.tenant).toMatchObject({
      id,
      name: 'Acme Capital',
      placement: 'shared',
      plan: DEFAULT_PLAN,
    });
    expect(created.apiKey).toMatch(new RegExp(`^sp_${id}_`));
    expect(JSON.stringify(created.tenant)).not.toContain(created.apiKey);
    const list = JSON.parse((await cli(dataDir, 'tenants', 'list', '--json')).stdout);
    expect(list.map((t: { id: string }) => t.id)).toEqual([id]);
    await expect(cli(dataDir, 'tenants', 'create', 'Bad_Id', '--name', 'x')).rejects.toMatchObject({
      stderr: expect.stringContaining('/id'),
    });
    await expect(cli(dataDir, 'tenants', 'create', id, '--name', 'again')).rejects.toMatchObject({ code: 1 });
  });

  it('works against a running server: creates a tenant and mints a token that submits a job', async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const id = newTenantId('cli');
    const out = (await cli(server.dataDir, 'tenants', 'create', id, '--name', 'Via Server')).stdout;
    expect(out).toContain(`Created tenant ${id}`);
    const { token } = JSON.parse(
      (await cli(server.dataDir, 'token', '--tenant', id, '--user', 'alice', '--json')).stdout,
    );
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token,
      tenant: id,
      body: '{"input":{}}',
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(server, token, ((await res.json()) as { id: string }).id, { tenant: id });
    expect(job.status).toBe('succeeded');
    const me = (await (await server.api('/v1/me', { token })).json()) as {
      subject: string;
      tenants: { id: string }[];
    };
    expect(me.subject).toBe('alice');
    expect(me.tenants.map((t) => t.id)).toEqual([id]);
    const suspended = (await cli(server.dataDir, 'tenants', 'suspend', id)).stdout;
    expect(suspended).toContain('suspended');
    expect((await server.api('/v1/jobs', { token, tenant: id })).status).toBe(403);
  });

  it("lists, rotates and revokes a tenant's API keys, on a DATA_DIR and against a server", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-cli-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const offline = newTenantId('keys');
    await cli(dataDir, 'tenants', 'create', offline, '--name', 'Offline');
    const [first] = JSON.parse((await cli(dataDir, 'tenants', 'keys', 'list', offline, '--json')).stdout);
    const rotated = JSON.parse(
      (await cli(dataDir, 'tenants', 'keys', 'rotate', offline, first.id, '--yes', '--json')).stdout,
    );
    expect(rotated).toMatchObject({ replaced: { id: first.id, revoked: true } });
    await cli(dataDir, 'tenants', 'keys', 'revoke', offline, rotated.key.id, '--yes');
    expect(JSON.parse((await cli(dataDir, 'tenants', 'keys', 'list', offline, '--json')).stdout)).toEqual([]);

    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const id = newTenantId('keys');
    const { apiKey } = await server.createTenant(id);
    const table = (await cli(server.dataDir, 'tenants', 'keys', 'list', id)).stdout;
    expect(table).toMatch(/^ID\s+PREFIX\s+CREATED\s+LAST USED/);
    expect(table).not.toContain(apiKey);
    const keyId = table.split('\n')[1]!.split(/\s+/)[0]!;
    const out = (await cli(server.dataDir, 'tenants', 'keys', 'rotate', id, keyId, '--grace', '600')).stdout;
    const fresh = /: (sp_\S+)/.exec(out)![1]!;
    expect(out).toContain(`Key ${keyId} works until`);
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(200);
    await cli(server.dataDir, 'tenants', 'keys', 'revoke', id, keyId, '--yes');
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(401);
    expect((await server.api('/v1/jobs', { token: fresh })).status).toBe(200);
    await expect(cli(server.dataDir, 'token', '--tenant', id, '--expires', '9999d')).rejects.toMatchObject({
      stderr: expect.stringContaining('/expiresIn'),
    });
    // A dozen CLI processes, each starting tsx: slow on a loaded machine.
  }, 90_000);

  it("works on a copy of DATA_DIR, not on the running server the copy's server-url names", async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const original = newTenantId('orig');
    await cli(server.dataDir, 'tenants', 'create', original, '--name', 'Original');
    // A backup or a restore elsewhere, taken while the server runs: its server-url is the running server's.
    const copy = join(mkdtempSync(join(tmpdir(), 'silopool-cli-copy-')), 'data');
    cleanup.push(() => rmSync(copy, { recursive: true, force: true }));
    cpSync(server.dataDir, copy, { recursive: true });
    expect(readFileSync(join(copy, 'server-url'), 'utf8').trim()).toBe(server.url);

    const added = newTenantId('copy');
    await cli(copy, 'tenants', 'create', added, '--name', 'Only in the copy');
    const inCopy = JSON.parse((await cli(copy, 'tenants', 'list', '--json')).stdout) as { id: string }[];
    expect(inCopy.map((t) => t.id)).toEqual(expect.arrayContaining([original, added]));
    const onServer = JSON.parse((await cli(server.dataDir, 'tenants', 'list', '--json')).stdout) as {
      id: string;
    }[];
    expect(onServer.map((t) => t.id)).toContain(original);
    expect(onServer.map((t) => t.id)).not.toContain(added);
  }, 90_000);
});

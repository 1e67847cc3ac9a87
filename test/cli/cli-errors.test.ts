import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { confirmDestructive } from '../../src/cli/confirm.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup) await c();
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-cli-errors-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the CLI (stdin not a terminal, as in a script) and returns its exit code and output either way. */
async function cli(env: Record<string, string>, ...args: string[]) {
  return run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );
}

describe('CLI errors people can act on', () => {
  it('refuses a token for a tenant that does not exist, and lifetimes outside 1s to the maximum', {
    timeout: 90_000,
  }, async () => {
    const DATA_DIR = tempDataDir();
    const id = newTenantId('tok');
    await cli({ DATA_DIR }, 'tenants', 'create', id, '--name', 'Tok');
    const ghost = newTenantId('nosuch');
    const missing = await cli({ DATA_DIR }, 'token', '--tenant', ghost);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain(`No tenant "${ghost}"`);
    // Concurrent: ten CLI starts one after another took over 30 s on a loaded CI machine (session 20).
    const expiries = ['0s', '-5m', '1.5h', 'soon'];
    const refused = await Promise.all(
      expiries.map((expires) => cli({ DATA_DIR }, 'token', '--tenant', id, `--expires=${expires}`)),
    );
    refused.forEach((bad, i) => {
      const expires = expiries[i];
      expect(bad.code, expires).not.toBe(0);
      expect(bad.stdout, expires).toBe('');
      expect(bad.stderr, expires).toMatch(/1s to 24h/);
    });
    const long = await cli({ DATA_DIR }, 'token', '--tenant', id, '--expires', '25h');
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(/\/expiresIn:? must be at most 24h/);
    const ok = await cli({ DATA_DIR }, 'token', '--tenant', id, '--expires', '15m');
    expect(ok.stdout).toMatch(/^ey/);
    // An operator token for a scrape or a script names no tenant (the CLI required one, which it then granted).
    const operator = await cli({ DATA_DIR }, 'token', '--role', 'operator', '--user', 'prometheus');
    expect(operator.code).toBe(0);
    const claims = JSON.parse(Buffer.from(operator.stdout.split('.')[1]!, 'base64url').toString()) as {
      tenants: string[];
      roles: string[];
      sub: string;
    };
    expect(claims).toMatchObject({ tenants: [], roles: ['operator'], sub: 'prometheus' });
    const userWithout = await cli({ DATA_DIR }, 'token', '--user', 'alice');
    expect(userWithout).toMatchObject({
      code: 1,
      stdout: '',
      stderr:
        "silopool: --tenant is needed: a user token grants only the tenants it names (an operator's, --role operator, or a scrape token, --role metrics, names none).\n",
    });
  });

  it('mints a Prometheus scrape token with --role metrics, alone', async () => {
    const DATA_DIR = tempDataDir();
    // A Prometheus scrape token: the metrics role alone, no tenant (it reads GET /metrics and nothing else).
    const scrape = await cli({ DATA_DIR }, 'token', '--role', 'metrics', '--user', 'prometheus');
    expect(scrape.code, scrape.stderr).toBe(0);
    expect(JSON.parse(Buffer.from(scrape.stdout.split('.')[1]!, 'base64url').toString())).toMatchObject({
      tenants: [],
      roles: ['metrics'],
      sub: 'prometheus',
    });
    for (const args of [
      ['--role', 'metrics', '--tenant', newTenantId('scr')],
      ['--role', 'metrics', 'operator'],
    ]) {
      const mixed = await cli({ DATA_DIR }, 'token', ...args);
      expect(mixed, args.join(' ')).toMatchObject({
        code: 1,
        stdout: '',
        stderr:
          'silopool: --role metrics mints a scrape token of its own: give it no --tenant and no other role (mint those separately).\n',
      });
    }
  });

  it('names a file it cannot read or write in one line, and deletes nothing when the export cannot be written', async () => {
    const DATA_DIR = tempDataDir();
    const missing = join(DATA_DIR, 'no-such-tenants.yaml');
    const apply = await cli({ DATA_DIR }, 'apply', missing, '--dry-run');
    expect(apply.code).toBe(1);
    expect(apply.stderr).toBe(`silopool: Cannot use ${missing}: no such file or folder (ENOENT).\n`);
    const id = newTenantId('exp');
    await cli({ DATA_DIR }, 'tenants', 'create', id, '--name', 'Export');
    // A folder that does not exist: the export could not be kept, so the tenant must not be deleted.
    const nowhere = join(DATA_DIR, 'no-such-folder', 'export.zip');
    const offboard = await cli({ DATA_DIR }, 'tenants', 'offboard', id, '--export', nowhere, '--yes');
    expect(offboard.code).toBe(1);
    expect(offboard.stderr).toContain(`Cannot use ${nowhere}: no such file or folder`);
    expect(offboard.stderr).not.toMatch(/\n\s+at /);
    const list = JSON.parse((await cli({ DATA_DIR }, 'tenants', 'list', '--json')).stdout) as {
      id: string;
    }[];
    expect(list.map((t) => t.id)).toContain(id);
    // A dry run with changes says nothing was changed (not "Nothing to change").
    const file = join(DATA_DIR, 'tenants.yaml');
    writeFileSync(file, `tenants:\n  - id: ${id}\n    plan: enterprise\n`);
    const dry = await cli({ DATA_DIR }, 'apply', file, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('Plan (1 change)');
    expect(dry.stdout).toContain('Dry run: nothing was changed.');
    expect(dry.stdout).not.toContain('Nothing to change');
  });

  it('names a file whose name is longer than the file system takes in one line, and deletes nothing', async () => {
    const DATA_DIR = tempDataDir();
    const tooLong = join(DATA_DIR, `${'t'.repeat(300)}.yaml`);
    const apply = await cli({ DATA_DIR }, 'apply', tooLong, '--dry-run');
    expect(apply.code).toBe(1);
    expect(apply.stderr).toBe(
      `silopool: Cannot use ${tooLong}: a name in the path is longer than the file system takes (ENAMETOOLONG).\n`,
    );
    const id = newTenantId('exp');
    await cli({ DATA_DIR }, 'tenants', 'create', id, '--name', 'Export');
    const zip = join(DATA_DIR, `${'z'.repeat(300)}.zip`);
    const offboard = await cli({ DATA_DIR }, 'tenants', 'offboard', id, '--export', zip, '--yes', '--json');
    expect(offboard.code).toBe(1);
    expect(JSON.parse(offboard.stderr)).toMatchObject({ code: 'enametoolong' });
    const list = JSON.parse((await cli({ DATA_DIR }, 'tenants', 'list', '--json')).stdout) as {
      id: string;
    }[];
    expect(list.map((t) => t.id)).toContain(id);
  });

  it('says so when, with no server answering, it makes a DATA_DIR that was not there', async () => {
    const DATA_DIR = join(tempDataDir(), 'data');
    const first = await cli({ DATA_DIR }, 'tenants', 'list');
    expect(first.code).toBe(0);
    expect(first.stderr).toBe(
      `silopool: No server answers and there was no DATA_DIR at ${DATA_DIR}: made a new, empty one. ` +
        'Run the CLI in the folder the server runs in, or point it there with DATA_DIR, --data-dir or --server.\n',
    );
    // Once it exists, the data is the operator's choice: nothing more is said.
    expect((await cli({ DATA_DIR }, 'tenants', 'list')).stderr).toBe('');
  });

  describe('against a running server', () => {
    let server: TestServer;
    const env = () => ({
      SILOPOOL_URL: server.url,
      SILOPOOL_TOKEN: server.operatorToken,
      DATA_DIR: server.dataDir,
    });

    it('prints the problem in words, and as JSON with --json', async () => {
      server = await startTestServer();
      cleanup.push(() => server.stop());
      const ghost = newTenantId('gone');
      const out = await cli(
        env(),
        'tenants',
        'offboard',
        ghost,
        '--export',
        join(tempDataDir(), 'x.zip'),
        '--yes',
      );
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/^silopool: .*not found/i);
      expect(out.stderr).not.toContain('{');
      const json = await cli(env(), 'tenants', 'get', ghost, '--json');
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stderr)).toMatchObject({ status: 404 });
      const token = await cli(env(), 'token', '--tenant', ghost);
      expect(token.stderr).toContain(`No tenant "${ghost}"`);
      const id = newTenantId('tok');
      await server.createTenant(id);
      const long = await cli(env(), 'token', '--tenant', id, '--expires', '9999d');
      expect(long.stderr).toMatch(/expiresIn: must be at most 24h/);
    });

    it('asks before offboarding or revoking: without a terminal only --yes goes ahead', async () => {
      const id = newTenantId('keep');
      const { apiKey } = await server.createTenant(id);
      const dir = tempDataDir();
      const refused = await cli(env(), 'tenants', 'offboard', id, '--export', join(dir, 'x.zip'));
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('pass --yes');
      expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(200);

      const keys = JSON.parse((await cli(env(), 'tenants', 'keys', 'list', id, '--json')).stdout) as {
        id: string;
      }[];
      const revoke = await cli(env(), 'tenants', 'keys', 'revoke', id, keys[0]!.id);
      expect(revoke.stderr).toContain('pass --yes');
      expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(200);
      const rotate = await cli(env(), 'tenants', 'keys', 'rotate', id, keys[0]!.id);
      expect(rotate.stderr).toContain('pass --yes');
      expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(200);

      const done = await cli(env(), 'tenants', 'offboard', id, '--export', join(dir, 'x.zip'), '--yes');
      expect(done.code).toBe(0);
      expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(404);
    }, 60_000);
  });

  it('apply asks before a plan that offboards; without a terminal only --yes carries it out', async () => {
    const DATA_DIR = tempDataDir();
    const id = newTenantId('apply');
    await cli({ DATA_DIR }, 'tenants', 'create', id, '--name', 'Apply');
    const file = join(DATA_DIR, 'tenants.yaml');
    writeFileSync(file, `tenants:\n  - id: ${id}\n    offboard: true\n`);
    const refused = await cli({ DATA_DIR }, 'apply', file, '--export-dir', DATA_DIR);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('pass --yes');
    expect(JSON.parse((await cli({ DATA_DIR }, 'tenants', 'list', '--json')).stdout)).toHaveLength(1);
    const done = await cli({ DATA_DIR }, 'apply', file, '--export-dir', DATA_DIR, '--yes');
    expect(done.code).toBe(0);
    expect(JSON.parse((await cli({ DATA_DIR }, 'tenants', 'list', '--json')).stdout)).toEqual([]);
  });

  it('on a terminal, goes ahead on "y" and stops on anything else', async () => {
    const ask = async (answer: string) => {
      const input = Object.assign(new PassThrough(), { isTTY: true });
      const output = new PassThrough();
      const asked = confirmDestructive('offboard t-1', {}, { input, output });
      input.write(`${answer}\n`);
      return asked;
    };
    await expect(ask('y')).resolves.toBeUndefined();
    await expect(ask('yes')).resolves.toBeUndefined();
    await expect(ask('')).rejects.toThrow('Cancelled');
    await expect(ask('n')).rejects.toThrow('Cancelled');
  });
});

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/adapters/embedded/data-dir-lock.ts';
import { newTenantId, startTestServer } from '../support/server.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/silopool.mjs');
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-one-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the server entry to its end (a refused start); the process is killed if it is still up after 30 s. */
function runServer(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/entry/server.ts')], {
      cwd: ROOT,
      env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const snapshot = (dir: string) =>
  ['server-url', 'operator-token'].map((name) => {
    const path = join(dir, name);
    return { name, text: readFileSync(path, 'utf8'), mtimeMs: statSync(path).mtimeMs };
  });

describe('one server per DATA_DIR', () => {
  it("refuses a second server on the same DATA_DIR with the first one's address; the first keeps serving, its files untouched", async () => {
    const first = await startTestServer();
    cleanup.push(() => first.stop());
    const before = snapshot(first.dataDir);

    const second = await runServer({ DATA_DIR: first.dataDir, PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`already running on DATA_DIR ${first.dataDir} at ${first.url}`),
    ]);
    expect(second.stdout).not.toContain('Silopool is running');
    expect(snapshot(first.dataDir)).toEqual(before);

    expect((await first.api('/healthz')).status).toBe(200);
    const tenant = newTenantId('one');
    await first.createTenant(tenant);
    expect((await first.api(`/v1/admin/tenants/${tenant}`, { token: first.operatorToken })).status).toBe(200);
  }, 60_000);

  it("the CLI's direct mode refuses the data while a server holds it, and a server does not start while the CLI works on it", async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const run = promisify(execFile);
    // An address nobody answers at: the CLI cannot reach the server and falls back to the data folder.
    const cli = run(process.execPath, [BIN, 'tenants', 'list'], {
      env: { ...process.env, DATA_DIR: server.dataDir, SILOPOOL_URL: 'http://127.0.0.1:9' },
    });
    await expect(cli).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(new RegExp(`running on DATA_DIR .* at ${server.url}.*--server`)),
    });

    const dir = tempDir();
    const held = lockDataDir(dir, 'cli', { create: true })!;
    const refused = await runServer({ DATA_DIR: dir, PORT: '0' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`The silopool CLI (pid ${process.pid}) is working on DATA_DIR ${dir}`);
    held.release();
    const after = await startTestServer({ dataDir: dir });
    cleanup.push(() => after.stop());
    expect((await after.api('/healthz')).status).toBe(200);
  }, 60_000);

  it('a busy port is one line and a non-zero exit, and no data folder is created', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen({ host: '127.0.0.1', port: 0 }, resolve));
    cleanup.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = join(tempDir(), 'data');

    const result = await runServer({ DATA_DIR: dataDir, PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`silopool: Port ${port} is in use: set PORT=… or stop the other process\n`);
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);

  it('a SIGKILLed server leaves its lock behind, and the next start takes it over at once', async () => {
    const first = await startTestServer({ keepData: true });
    cleanup.push(() => rmSync(first.dataDir, { recursive: true, force: true }));
    const tenant = newTenantId('stale');
    await first.createTenant(tenant);
    await first.kill();
    expect(existsSync(join(first.dataDir, 'silopool.lock'))).toBe(true);

    const next = await startTestServer({ dataDir: first.dataDir });
    cleanup.push(() => next.stop());
    expect(next.url).not.toBe('');
    expect(readFileSync(join(first.dataDir, 'server-url'), 'utf8')).toBe(next.url);
    expect((await next.api(`/v1/admin/tenants/${tenant}`, { token: next.operatorToken })).status).toBe(200);
  }, 60_000);
});

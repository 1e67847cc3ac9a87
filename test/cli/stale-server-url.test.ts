import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer } from '../support/server.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** The CLI's environment with DATA_DIR and nothing else naming a server or a token. */
function cliEnv(dataDir: string): NodeJS.ProcessEnv {
  const { SILOPOOL_URL: _url, SILOPOOL_TOKEN: _token, ...env } = process.env;
  return { ...env, DATA_DIR: dataDir };
}

/**
 * `server-url` and `operator-token` stay in DATA_DIR after the server stops. The CLI used to trust the file
 * alone: whatever listened at that address next (any local user may bind the freed port) and answered
 * /healthz was sent the operator token, which the next server on this DATA_DIR accepts until it expires.
 */
describe('the CLI after its server stopped', () => {
  it('sends the operator token to no one listening at the old address and works on the data itself', async () => {
    const server = await startTestServer({ keepData: true });
    const dataDir = server.dataDir;
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const tenant = newTenantId('stale');
    await server.createTenant(tenant);
    const token = readFileSync(join(dataDir, 'operator-token'), 'utf8').trim();
    await server.stop();

    // Another process takes the freed address and answers like a server would.
    const seen: string[] = [];
    const impostor: Server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{"items":[]}');
    });
    const { port } = new URL(server.url);
    await new Promise<void>((resolve) => impostor.listen(Number(port), '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => impostor.close(() => resolve())));

    const { stdout } = await run(process.execPath, [BIN, 'tenants', 'list', '--json'], {
      env: cliEnv(dataDir),
    });
    expect(seen.filter((line) => line.includes(token))).toEqual([]);
    expect(seen.filter((line) => line.includes('Bearer'))).toEqual([]);
    // It read the data folder, where the tenant is.
    expect((JSON.parse(stdout) as { id: string }[]).map((t) => t.id)).toEqual([tenant]);
  }, 60_000);

  it('still reaches the server that holds DATA_DIR', async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const tenant = newTenantId('live');
    await server.createTenant(tenant);
    const { stdout } = await run(process.execPath, [BIN, 'tenants', 'list', '--json'], {
      env: cliEnv(server.dataDir),
    });
    // Over HTTP: while the server runs, the CLI's direct mode is refused (test/api/one-server.test.ts).
    expect((JSON.parse(stdout) as { id: string }[]).map((t) => t.id)).toEqual([tenant]);
  }, 60_000);
});

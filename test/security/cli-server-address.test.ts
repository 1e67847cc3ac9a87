import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { submit, until } from '../placement/helpers.ts';
import { newTenantId, startTestServer } from '../support/server.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
const IPV6_FIRST = new URL('../support/localhost-ipv6-first.mjs', import.meta.url).pathname;
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** The CLI's environment with DATA_DIR and nothing else naming a server or a token. */
function cliEnv(dataDir: string): NodeJS.ProcessEnv {
  const { SILOPOOL_URL: _url, SILOPOOL_TOKEN: _token, ...env } = process.env;
  return { ...env, DATA_DIR: dataDir };
}

/** A listener that answers like a Silopool server and records every request with its credential. */
async function impostor(port: number, host: string): Promise<{ seen: string[]; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{"items":[]}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, resolve);
  });
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { seen, server };
}

/**
 * The operator token in DATA_DIR goes only to the server holding DATA_DIR (1d20436). Two ways around it:
 * the address the server wrote named it `localhost` while it listened on 127.0.0.1 alone, and `localhost`
 * is ::1 first on macOS and Debian, where any local user may listen at the same port; and the address stayed
 * current while a stopping server drained its jobs with its port already free.
 */
describe('where the CLI sends the operator token', () => {
  it('not to a listener on ::1 at the server port: the address it is given names the one the server holds', async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const tenant = newTenantId('addr');
    await server.createTenant(tenant);
    const { port } = new URL(server.url);
    const fake = await impostor(Number(port), '::1');

    const { stdout } = await run(
      process.execPath,
      ['--import', IPV6_FIRST, BIN, 'tenants', 'list', '--json'],
      { env: cliEnv(server.dataDir) },
    );
    expect(fake.seen.filter((line) => line.includes('Bearer'))).toEqual([]);
    expect((JSON.parse(stdout) as { id: string }[]).map((t) => t.id)).toEqual([tenant]);
    // The address written for the CLI and shown in the login link is an address, not a name to resolve.
    const written = readFileSync(join(server.dataDir, 'server-url'), 'utf8').trim();
    expect(isIP(new URL(written).hostname)).toBe(4);
    expect(server.output()).toContain(`Operator login: http://127.0.0.1:${port}/login#token=`);
  }, 60_000);

  it('not to a listener that takes the port of a server draining its jobs after SIGTERM', async () => {
    const server = await startTestServer({
      detached: true,
      keepData: true,
      env: { SILOPOOL_SHUTDOWN_GRACE_SEC: '120' },
    });
    const dataDir = server.dataDir;
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup.push(() => server.stop());
    const tenant = newTenantId('drain');
    const { apiKey } = await server.createTenant(tenant);
    // A funds job of several seconds: the server drains it after the signal, holding DATA_DIR meanwhile.
    const { id } = await submit(
      server,
      apiKey,
      { simulations: 100_000, fundLifeYears: 30, periodsPerYear: 4 },
      {},
      'funds',
    );
    await until(`job ${id} running`, async () => {
      const job = (await (await server.api(`/v1/jobs/${id}`, { token: apiKey })).json()) as {
        status: string;
      };
      return job.status === 'running';
    });

    server.process.kill('SIGTERM');
    const { port } = new URL(server.url);
    // The port is free as soon as the server stops accepting connections; another process takes it.
    const fake = await until('the freed port taken', () =>
      impostor(Number(port), '127.0.0.1').catch(() => undefined),
    );
    const cli = await run(process.execPath, [BIN, 'tenants', 'list', '--json'], {
      env: cliEnv(dataDir),
    }).then(
      (out) => ({ ok: true, text: out.stdout }),
      (error: { stderr?: string }) => ({ ok: false, text: error.stderr ?? '' }),
    );
    // Still draining (else this proved nothing): the CLI met a server that holds DATA_DIR.
    expect(server.process.exitCode, server.output()).toBeNull();
    expect(fake.seen.filter((line) => line.includes('Bearer'))).toEqual([]);
    // It can neither reach the server nor open the data it holds: it says the server is stopping.
    expect(cli.ok).toBe(false);
    expect(cli.text).toMatch(/stopping/);
  }, 180_000);
});

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';

const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
let servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  servers = [];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A server that answers /healthz like Silopool and every other request with `answer`. */
async function serverThat(answer: (req: IncomingMessage, res: ServerResponse, server: Server) => void) {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
      return;
    }
    answer(req, res, server);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function cli(url: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-cli-gone-'));
  dirs.push(dataDir);
  const { SILOPOOL_URL: _url, SILOPOOL_TOKEN: _token, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, '--server', url, '--token', 'op-token', ...args],
      { env: { ...env, DATA_DIR: dataDir } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

/**
 * The CLI checks the server answers (/healthz), then sends its request: a server stopping between the two
 * (or a proxy answering in its place) ended the command with Node's stack trace of `fetch failed` or of
 * JSON.parse, not a line saying what happened.
 */
describe('the CLI when its server stops between the check and the request', () => {
  const cases: [string, (req: IncomingMessage, res: ServerResponse, server: Server) => void, RegExp][] = [
    ['the connection is cut', (req) => req.socket.destroy(), /connection|answer/i],
    [
      'the server is gone',
      (req, _res, server) => {
        server.close();
        server.closeAllConnections();
        req.socket.destroy();
      },
      /connection|answer/i,
    ],
    [
      'something else answers 200 with a page',
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>maintenance</html>');
      },
      /not JSON|not .*Silopool/i,
    ],
  ];
  for (const [name, answer, says] of cases) {
    it(`says so in one line when ${name}`, async () => {
      const url = await serverThat(answer);
      for (const args of [
        ['tenants', 'list'],
        ['tenants', 'list', '--json'],
        ['release', 'list'],
      ]) {
        const { code, stdout, stderr } = await cli(url, args);
        expect(code, stderr).toBe(1);
        expect(stdout).toBe('');
        expect(stderr, args.join(' ')).not.toMatch(/\n\s+at /);
        expect(stderr).toContain(url);
        expect(stderr.trim().split('\n')).toHaveLength(1);
        if (!args.includes('--json')) expect(stderr).toMatch(says);
      }
    }, 60_000);
  }
});

/**
 * The server that holds DATA_DIR does not answer (stopping, paused, overloaded): the CLI fell back to the data
 * folder, found it locked and told the operator to reach the server with --server, the very address that
 * had just not answered.
 */
describe('the CLI when the server holding DATA_DIR does not answer', () => {
  it('says the server did not answer and to try again, not to use its address', async () => {
    const server = await startTestServer();
    try {
      const pid = server.process.pid!;
      process.kill(pid, 'SIGSTOP');
      const { SILOPOOL_URL: _url, SILOPOOL_TOKEN: _token, ...env } = process.env;
      const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [BIN, 'tenants', 'list'],
          { env: { ...env, DATA_DIR: server.dataDir } },
          (e, _o, stderr) => resolve({ code: e ? (e.code as number) : 0, stderr }),
        );
      });
      process.kill(pid, 'SIGCONT');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`did not answer at ${server.url}`);
      expect(result.stderr).not.toContain('--server');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

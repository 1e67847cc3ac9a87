import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestServer {
  url: string;
  operatorToken: string;
  dataDir: string;
  process: ChildProcess;
  /** Everything the server printed, for assertions and debugging. */
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL: no shutdown code runs, as in a crash. */
  kill(): Promise<void>;
  createTenant(
    id: string,
    options?: Record<string, unknown>,
  ): Promise<{ apiKey: string; tenant: Record<string, unknown> }>;
  mintToken(options: {
    tenants: string[];
    user: string;
    roles?: string[];
    expiresIn?: string;
  }): Promise<string>;
  /** fetch against the server with a bearer token (and tenant). */
  api(path: string, init?: RequestInit & { token?: string; tenant?: string }): Promise<Response>;
}

const ROOT = new URL('../..', import.meta.url).pathname;

export function newTenantId(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Starts the real server (`src/entry/server.ts`) as a child process on port 0 with its own DATA_DIR. */
export async function startTestServer(
  options: {
    dataDir?: string;
    env?: Record<string, string>;
    keepData?: boolean;
    /** A process group of its own (with its function processes), for signals sent to the whole group. */
    detached?: boolean;
  } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'silopool-test-'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/entry/server.ts')], {
    cwd: ROOT,
    detached: Boolean(options.detached),
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SILOPOOL_VISIBILITY_TIMEOUT_SEC: '4',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const check = () => {
      const match = /Silopool is running at (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const operatorToken = readFileSync(join(dataDir, 'operator-token'), 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const api: TestServer['api'] = (path, init = {}) => {
    const { token, tenant, headers, ...rest } = init;
    const h = new Headers(headers);
    if (token) h.set('authorization', `Bearer ${token}`);
    if (tenant) h.set('x-tenant-id', tenant);
    if (rest.body && !h.has('content-type')) h.set('content-type', 'application/json');
    return fetch(url + path, { ...rest, headers: h });
  };

  return {
    url,
    operatorToken,
    dataDir,
    process: child,
    output: () => out,
    api,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async createTenant(id, extra = {}) {
      const res = await api('/v1/admin/tenants', {
        method: 'POST',
        token: operatorToken,
        body: JSON.stringify({ id, name: `Tenant ${id}`, ...extra }),
      });
      if (res.status !== 201) throw new Error(`createTenant ${id}: ${res.status} ${await res.text()}`);
      return (await res.json()) as { apiKey: string; tenant: Record<string, unknown> };
    },
    async mintToken(claims) {
      const res = await api('/v1/admin/tokens', {
        method: 'POST',
        token: operatorToken,
        body: JSON.stringify(claims),
      });
      if (res.status !== 200) throw new Error(`mintToken: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
  };
}

/** Polls a job until it reaches a terminal status. */
export async function waitForJob(
  server: TestServer,
  token: string,
  jobId: string,
  options: { tenant?: string; timeoutMs?: number } = {},
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const res = await server.api(`/v1/jobs/${jobId}`, {
      token,
      ...(options.tenant ? { tenant: options.tenant } : {}),
    });
    const job = (await res.json()) as Record<string, unknown>;
    if (['succeeded', 'failed', 'cancelled'].includes(String(job.status))) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${String(job.status)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/** Every folder and file under `dir` with its permission bits. */
function modesBelow(dir: string): { path: string; dir: boolean; mode: number }[] {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    // A file may go between listing and stat (a temp object renamed); it is judged by what replaced it.
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    const mode = stat.mode & 0o777;
    out.push({ path, dir: entry.isDirectory(), mode });
    if (entry.isDirectory()) out.push(...modesBelow(path));
  }
  return out;
}

function openModes(dir: string): string[] {
  return modesBelow(dir)
    .filter((e) => e.mode !== (e.dir ? 0o700 : 0o600))
    .map((e) => `${e.path} ${e.mode.toString(8)}`);
}

async function submit(server: TestServer, tenant: string, token: string): Promise<string> {
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token,
    tenant,
    body: JSON.stringify({ input: { revenue: 2_000_000, years: 5 } }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

let plain: TestServer;
let proxied: TestServer;
let oldDir: string;
let reopened: TestServer;

beforeAll(async () => {
  // A DATA_DIR an older version left open to everyone: folders 0755, files 0644, down to an object.
  oldDir = mkdtempSync(join(tmpdir(), 'silopool-old-'));
  mkdirSync(join(oldDir, 'tenants', 'old-co', 'objects', 'jobs'), { recursive: true, mode: 0o755 });
  writeFileSync(join(oldDir, 'silopool.sqlite'), '', { mode: 0o644 });
  writeFileSync(join(oldDir, 'server-url'), 'http://old', { mode: 0o644 });
  writeFileSync(join(oldDir, 'tenants', 'old-co', 'objects', 'jobs', 'result.xlsx~o'), 'x', { mode: 0o644 });
  for (const dir of [
    '',
    'tenants',
    'tenants/old-co',
    'tenants/old-co/objects',
    'tenants/old-co/objects/jobs',
  ])
    chmodSync(join(oldDir, dir), 0o755);

  [plain, proxied, reopened] = await Promise.all([
    startTestServer({ env: { LOG_LEVEL: 'info' } }),
    startTestServer({ env: { LOG_LEVEL: 'info', SILOPOOL_TRUST_PROXY: '1', SILOPOOL_SSE_MAX_STREAMS: '2' } }),
    startTestServer({ dataDir: oldDir, env: { SILOPOOL_SSE_MAX_LIFE_SEC: '1' } }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([plain?.stop(), proxied?.stop(), reopened?.stop()]);
  rmSync(oldDir, { recursive: true, force: true });
});

describe('DATA_DIR is private', () => {
  it('after jobs of a shared and a dedicated tenant, every folder is 0700 and every file 0600', async () => {
    const shared = newTenantId('modes');
    const dedicated = newTenantId('modesd');
    await plain.createTenant(shared);
    await plain.createTenant(dedicated, { placement: 'dedicated' });
    for (const tenant of [shared, dedicated]) {
      const token = await plain.mintToken({ tenants: [tenant], user: 'u' });
      const job = await waitForJob(plain, token, await submit(plain, tenant, token), {
        tenant,
        timeoutMs: 30_000,
      });
      expect(job.status).toBe('succeeded');
    }
    const entries = modesBelow(plain.dataDir);
    // The walk saw what matters: databases with their WAL, the key, the tokens.
    const names = entries.map((e) => e.path.slice(plain.dataDir.length));
    for (const expected of [
      '/silopool.sqlite-wal',
      '/jobs.sqlite-shm',
      '/keys/jwt-signing.jwk.json',
      '/operator-token',
    ]) {
      expect(names).toContain(expected);
    }
    expect(names.some((n) => n.startsWith(`/tenants/${dedicated}/jobs.sqlite`))).toBe(true);
    // The artifacts of both tenants are rows of those (0600) databases, none a file of its own.
    for (const file of ['jobs.sqlite', join('tenants', dedicated, 'jobs.sqlite')]) {
      const db = new Database(join(plain.dataDir, file), { readonly: true });
      expect(db.prepare('SELECT count(*) FROM objects').pluck().get(), file).toBe(1);
      db.close();
    }
    expect(lstatSync(plain.dataDir).mode & 0o777).toBe(0o700);
    expect(openModes(plain.dataDir)).toEqual([]);
  });

  it.skipIf(!existsSync('/proc/self/status'))(
    'the server process runs with umask 077, which its threads and function processes inherit',
    () => {
      expect(readFileSync(`/proc/${plain.process.pid}/status`, 'utf8')).toMatch(/^Umask:\s+0077$/m);
    },
  );

  it('operator-token and server-url are readable by the owner only', () => {
    for (const name of ['operator-token', 'server-url']) {
      expect(lstatSync(join(plain.dataDir, name)).mode & 0o777).toBe(0o600);
    }
  });

  it('a DATA_DIR left world-readable by an older version is fixed at start, down to its objects', () => {
    expect(lstatSync(oldDir).mode & 0o777).toBe(0o700);
    expect(openModes(oldDir)).toEqual([]);
    expect(
      lstatSync(join(oldDir, 'tenants', 'old-co', 'objects', 'jobs', 'result.xlsx~o')).mode & 0o777,
    ).toBe(0o600);
    // The old, empty database file became the platform's database and kept its private mode.
    expect(lstatSync(join(oldDir, 'silopool.sqlite')).size).toBeGreaterThan(0);
  });
});

describe('security headers', () => {
  const expectHeaders = (headers: Headers) => {
    const csp = headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'self'",
      "form-action 'self'",
      "img-src 'self' data:",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    // Scripts only from the app's origin, and no string turned into code (the form validator interprets).
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain('unsafe-eval');
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    expect(headers.get('x-frame-options')).toBe('DENY');
  };

  it('the web app page carries CSP, nosniff, referrer policy and frame denial', async () => {
    const res = await fetch(`${plain.url}/t/some-tenant/models`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expectHeaders(res.headers);
  });

  it('a JSON API response carries them too', async () => {
    const res = await plain.api('/v1/admin/tenants', { token: plain.operatorToken });
    expect(res.status).toBe(200);
    expectHeaders(res.headers);
  });

  it('a problem+json error carries them too', async () => {
    const res = await plain.api('/v1/jobs');
    expect(res.status).toBe(401);
    expectHeaders(res.headers);
  });

  it('an event stream carries them too', async () => {
    const tenant = newTenantId('hdr');
    await plain.createTenant(tenant, { config: { limits: { maxRunningJobs: 0 } } });
    const token = await plain.mintToken({ tenants: [tenant], user: 'u' });
    const abort = new AbortController();
    const res = await plain.api(`/v1/jobs/${await submit(plain, tenant, token)}/events`, {
      token,
      tenant,
      signal: abort.signal,
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expectHeaders(res.headers);
    abort.abort();
  });

  it('/docs allows its own inline styles and nothing more', async () => {
    const res = await fetch(`${plain.url}/docs`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("frame-ancestors 'none'");
  });
});

describe('the client address', () => {
  /** The address Fastify logged for the request to `path` (its `req.remoteAddress`, i.e. `request.ip`). */
  const loggedAddress = async (server: TestServer, path: string): Promise<string | undefined> => {
    for (let i = 0; i < 50; i++) {
      const line = server
        .output()
        .split('\n')
        .find((l) => l.includes(path) && l.includes('remoteAddress'));
      if (line) return (JSON.parse(line) as { req: { remoteAddress: string } }).req.remoteAddress;
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  };

  it('a forged X-Forwarded-For does not change the address by default', async () => {
    const path = `/healthz?probe=${randomUUID()}`;
    const res = await fetch(plain.url + path, { headers: { 'x-forwarded-for': '203.0.113.66' } });
    expect(res.status).toBe(200);
    expect(await loggedAddress(plain, path)).toBe('127.0.0.1');
    expect(plain.output()).not.toContain('203.0.113.66');
  });

  it('with SILOPOOL_TRUST_PROXY=1 the last hop the trusted proxy appended is the client', async () => {
    const path = `/healthz?probe=${randomUUID()}`;
    await fetch(proxied.url + path, { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' } });
    expect(await loggedAddress(proxied, path)).toBe('203.0.113.7');
  });
});

describe('event streams', () => {
  const pausedTenant = async (server: TestServer) => {
    const tenant = newTenantId('sse');
    await server.createTenant(tenant, { config: { limits: { maxRunningJobs: 0 } } });
    const token = await server.mintToken({ tenants: [tenant], user: 'u' });
    return { tenant, token, job: await submit(server, tenant, token) };
  };
  const open = (
    server: TestServer,
    t: { tenant: string; token: string; job: string },
    signal?: AbortSignal,
  ) =>
    server.api(`/v1/jobs/${t.job}/events`, {
      token: t.token,
      tenant: t.tenant,
      ...(signal ? { signal } : {}),
    });

  it('a tenant past its concurrent streams gets 429 problem+json with Retry-After; others are unaffected', async () => {
    const a = await pausedTenant(proxied);
    const b = await pausedTenant(proxied);
    const abort = new AbortController();
    const first = await open(proxied, a, abort.signal);
    const second = await open(proxied, a, abort.signal);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await open(proxied, a);
    expect(third.status).toBe(429);
    expect(third.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await third.json()).toMatchObject({
      code: 'rate_limited',
      limit: 'concurrent_event_streams',
      max: 2,
    });

    const other = await open(proxied, b, abort.signal);
    expect(other.status).toBe(200);
    const jobs = await proxied.api('/v1/jobs', { token: a.token, tenant: a.tenant });
    expect(jobs.status).toBe(200);

    // Closing streams gives the slots back.
    abort.abort();
    await expect
      .poll(async () => {
        const again = await open(proxied, a);
        await again.body?.cancel();
        return again.status;
      })
      .toBe(200);
  });

  it('a stream still ends after the terminal event, pushed without a poll', async () => {
    const a = await pausedTenant(plain);
    const stream = await open(plain, a);
    const text = stream.text();
    const cancel = await plain.api(`/v1/jobs/${a.job}`, {
      method: 'DELETE',
      token: a.token,
      tenant: a.tenant,
    });
    expect(cancel.status).toBe(200);
    const body = await text;
    expect([...body.matchAll(/"status":"(\w+)"/g)].map((m) => m[1])).toEqual(['queued', 'cancelled']);
    expect(body).not.toContain('event: reconnect');
  });

  it('a stream lives at most its configured life and ends telling the client to reconnect', async () => {
    const a = await pausedTenant(reopened);
    const started = Date.now();
    const body = await (await open(reopened, a)).text();
    expect(body).toContain('event: status');
    expect(body).toMatch(/event: reconnect\ndata: \{"reason":"max_stream_life"\}/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('the client reconnects after the life ends and still sees the terminal status', async () => {
    const a = await pausedTenant(reopened);
    const client = createClient({ baseUrl: reopened.url, token: a.token, tenantId: a.tenant });
    const seen: string[] = [];
    const watching = (async () => {
      for await (const job of client.watchJob(a.job)) seen.push(job.status);
    })();
    // Past two stream lives: the client has reopened the stream at least once.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    await client.cancelJob(a.job);
    await watching;
    expect(seen.at(-1)).toBe('cancelled');
  });
});

describe('a server that stops', () => {
  it('ends its open streams with a reconnect event instead of waiting for them', async () => {
    const tenant = newTenantId('bye');
    await proxied.createTenant(tenant, { config: { limits: { maxRunningJobs: 0 } } });
    const token = await proxied.mintToken({ tenants: [tenant], user: 'u' });
    const job = await submit(proxied, tenant, token);
    const res = await proxied.api(`/v1/jobs/${job}/events`, { token, tenant });
    const reader = res.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('event: status');
    await proxied.stop();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toMatch(/event: reconnect\ndata: \{"reason":"server_closing"\}/);
  });
});

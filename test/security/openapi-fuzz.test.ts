import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import {
  CREDENTIALS,
  type CredentialClass,
  forgedTokens,
  garbageAuthorizations,
} from './fuzz-credentials.ts';
import {
  type FuzzRequest,
  type FuzzWorld,
  requestFor,
  routesFromSpec,
  type SpecRoute,
} from './fuzz-requests.ts';
import type { Schema } from './fuzz-values.ts';

// Issue 11: an OpenAPI-driven fuzz. Every operation `/docs/json` lists gets generated valid and hostile
// requests with every credential class. Whatever arrives: no 5xx, every error is problem+json with a `code`,
// no credential reads another tenant's ids, names or data unless it named them itself, and afterwards the
// server is healthy and tenant A still gets a finance job done.
//
// Seeded: FUZZ_SEED (default below) picks every request; a failure prints fast-check's seed and path.
// Search wider with `FUZZ_SEED=123 FUZZ_SCALE=10 npx vitest run test/security/openapi-fuzz.test.ts`;
// FUZZ_LOG=1 prints every request and its answer.

const BASE_SEED = Number(process.env['FUZZ_SEED'] ?? 20251104);
/** FUZZ_SCALE multiplies every run count, for a longer search than `npm test` affords. */
const SCALE = Number(process.env['FUZZ_SCALE'] ?? 1);
/** Runs per route and credential class: more where the credential reaches the handler. */
const RUNS = { reached: 24, refused: 4 };
/**
 * More runs for the submit (its input schema is the largest); fewer where valid requests create, move or
 * offboard tenants, the slowest requests there are. Together they keep the file bounded (~10 s of requests).
 */
const ROUTE_RUNS: Record<string, number> = {
  'POST /v1/models/{model}/jobs': 40,
  'POST /v1/admin/tenants': 16,
  'DELETE /v1/admin/tenants/{id}': 10,
  'POST /v1/admin/tenants/{id}/offboard': 10,
  'POST /v1/admin/tenants/{id}/placement': 10,
  'POST /v1/admin/advisor/apply': 10,
};
const MARKER = { a: 913372.41, b: 271828.18 };

let server: TestServer;
let world: FuzzWorld;
let routes: SpecRoute[];
let aKey: string;
let aName: string;
let bName: string;
let sent = 0;
/** Answers per status, per route: the summary shows how deep the generated requests reached. */
const statuses = new Map<string, Map<number, number>>();

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function submit(token: string, model: string, input: unknown): Promise<string> {
  const res = await server.api(`/v1/models/${model}/jobs`, {
    method: 'POST',
    token,
    body: JSON.stringify({ input }),
  });
  return (await json<{ id: string }>(res, 202)).id;
}

beforeAll(async () => {
  server = await startTestServer();
  const a = newTenantId('fz-a');
  const b = newTenantId('fz-b');
  aName = `Acme Fuzzworks ${a.slice(-8)}`;
  bName = `Bolt Ledger ${b.slice(-8)}`;
  aKey = (await server.createTenant(a, { name: aName, plan: 'standard' })).apiKey;
  const bKey = (await server.createTenant(b, { name: bName, plan: 'standard' })).apiKey;
  const expired = await server.mintToken({ tenants: [a], user: 'old', roles: ['operator'], expiresIn: '1s' });
  const spare = { remove: [] as string[], offboard: [] as string[], change: [] as string[] };
  for (const kind of ['remove', 'offboard', 'change'] as const) {
    for (let i = 0; i < 2; i++) {
      const id = newTenantId(`fz-${kind.slice(0, 3)}`);
      await server.createTenant(id);
      spare[kind].push(id);
    }
  }
  const aUser = await server.mintToken({ tenants: [a], user: 'alice' });
  const bUser = await server.mintToken({ tenants: [b], user: 'bob' });

  const jobs = {
    a: [
      await submit(aKey, 'finance', { revenue: MARKER.a, years: 3 }),
      await submit(aKey, 'finance', {
        revenue: MARKER.a,
        loan: { principal: 5e5, annualRate: 0.05, termMonths: 24, startDate: '2025-03-01' },
      }),
      await submit(aKey, 'funds', { commitment: MARKER.a }),
    ],
    b: [
      await submit(bKey, 'finance', { revenue: MARKER.b, years: 2 }),
      await submit(bKey, 'finance', { revenue: MARKER.b }),
    ],
  };
  for (const id of jobs.a) expect((await waitForJob(server, aKey, id)).status).toBe('succeeded');
  for (const id of jobs.b) expect((await waitForJob(server, bKey, id)).status).toBe('succeeded');
  const artifacts = (
    await json<{ artifacts: { name: string }[] }>(
      await server.api(`/v1/jobs/${jobs.a[0]}`, { token: aKey }),
      200,
    )
  ).artifacts.map((x) => x.name);

  const cursors: string[] = [];
  for (const [token, path] of [
    [aKey, '/v1/jobs?limit=1'],
    [bKey, '/v1/jobs?limit=1'],
    [server.operatorToken, '/v1/admin/tenants?limit=1'],
  ] as const) {
    const page = await json<{ nextCursor?: string }>(await server.api(path, { token }), 200);
    if (page.nextCursor) cursors.push(page.nextCursor);
  }
  const queues = (
    await json<{ items: { queue: string }[] }>(
      await server.api('/v1/admin/queues', { token: server.operatorToken }),
      200,
    )
  ).items.map((q) => q.queue);
  const moved = await server.api(`/v1/admin/tenants/${spare.change[0]}/placement`, {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify({ placement: 'dedicated' }),
  });
  const operations = [(await json<{ id: string }>(moved, 202)).id];
  const models = Object.fromEntries(
    (
      await json<{ items: { name: string; inputSchema: Schema }[] }>(
        await server.api('/v1/models', { token: aKey }),
        200,
      )
    ).items.map((m) => [m.name, m.inputSchema]),
  );

  world = {
    a,
    b,
    spare,
    jobs,
    artifacts,
    operations,
    queues,
    cursors,
    models,
    authorizations: {
      none: [],
      'garbage bearer': garbageAuthorizations(a, aKey),
      'forged JWT': await forgedTokens(bUser, expired, a, b),
      'tenant A API key': [`Bearer ${aKey}`],
      'tenant A user JWT': [`Bearer ${aUser}`],
      'tenant B user JWT': [`Bearer ${bUser}`],
      operator: [`Bearer ${server.operatorToken}`],
    },
  };
  routes = routesFromSpec(
    await json<Parameters<typeof routesFromSpec>[0]>(await server.api('/docs/json'), 200),
  );
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

interface Answer {
  status: number;
  contentType: string;
  /** Headers and body, as one text to search for what must not be there. */
  text: string;
  body: string;
}

/** Sends a request exactly as generated (no client-side URL normalisation); event streams are read for 300 ms. */
function send(req: FuzzRequest): Promise<Answer> {
  const url = new URL(server.url);
  sent++;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers: {
          ...req.headers,
          ...(req.body !== undefined ? { 'content-length': String(Buffer.byteLength(req.body)) } : {}),
        },
        // A connection of its own: a request the server refuses at the HTTP level cannot spoil the next.
        agent: false,
      },
      (res) => {
        let body = '';
        const contentType = String(res.headers['content-type'] ?? '');
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType,
            body,
            text: `${JSON.stringify(res.headers)}\n${body}`,
          });
        res.setEncoding('latin1');
        res.on('data', (d: string) => (body += d));
        res.on('end', done);
        if (contentType.startsWith('text/event-stream')) {
          setTimeout(() => {
            res.destroy();
            done();
          }, 300);
        }
      },
    );
    outgoing.setTimeout(10_000, () => outgoing.destroy(new Error('no answer within 10 s')));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

const TENANT_CLASS: Partial<Record<CredentialClass, 'a' | 'b'>> = {
  'tenant A API key': 'a',
  'tenant A user JWT': 'a',
  'tenant B user JWT': 'b',
};

/** What a credential must never read unless it named it: other tenants' ids, names, jobs and numbers. */
function hiddenFrom(credential: CredentialClass): string[] {
  if (credential === 'operator') return [aKey];
  const of = {
    a: [world.a, aName, String(MARKER.a), ...world.jobs.a, aKey],
    b: [world.b, bName, String(MARKER.b), ...world.jobs.b],
  };
  const spares = [...world.spare.remove, ...world.spare.offboard, ...world.spare.change];
  const own = TENANT_CLASS[credential];
  if (own === 'a') return [...of.b, ...spares];
  if (own === 'b') return [...of.a, ...spares];
  return [...of.a, ...of.b, ...spares];
}

function reaches(route: SpecRoute, credential: CredentialClass): boolean {
  if (route.audience === 'public') return true;
  if (route.audience === 'operator') return credential === 'operator';
  // Any valid credential passes a tenant route's audience; the tenant it acts for is decided after.
  return TENANT_CLASS[credential] !== undefined || credential === 'operator';
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function check(route: SpecRoute, req: FuzzRequest, res: Answer): void {
  const counts = statuses.get(`${route.method} ${route.template}`) ?? new Map<number, number>();
  counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
  statuses.set(`${route.method} ${route.template}`, counts);
  if (process.env['FUZZ_LOG'])
    console.log(
      req.credential,
      req.method,
      req.path.slice(0, 200),
      JSON.stringify(req.headers).slice(0, 150),
      (req.body ?? '').slice(0, 300),
      '→',
      res.status,
      res.body.slice(0, 300),
    );
  const where = `${req.method} ${req.path.slice(0, 300)} (${req.credential}) → ${res.status} ${res.body.slice(0, 300)}`;
  expect(res.status, where).toBeGreaterThanOrEqual(200);
  expect(res.status, where).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.contentType, where).toMatch(/^application\/problem\+json/);
    if (req.method !== 'HEAD') {
      expect(typeof (JSON.parse(res.body) as { code?: unknown }).code, where).toBe('string');
    }
  }
  // A swapped method runs the route registered for it (HEAD runs GET), or none.
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const ran = routes.find((r) => r.template === route.template && r.method === method);
  if (!ran || !reaches(ran, req.credential)) {
    expect(res.status, `${where}: not its audience`).toBeGreaterThanOrEqual(400);
  }
  const named = `${req.path}\n${decoded(req.path)}\n${JSON.stringify(req.headers)}\n${req.body ?? ''}`;
  for (const secret of hiddenFrom(req.credential)) {
    if (!named.includes(secret)) {
      expect(res.text.includes(secret), `${where}: reads "${secret}" it did not name`).toBe(false);
    } else if (secret.startsWith('j_') && TENANT_CLASS[req.credential]) {
      // Naming another tenant's job is no way in: the answer is as if it did not exist.
      expect(res.status, `${where}: another tenant's job`).toBeGreaterThanOrEqual(400);
    }
  }
}

/** fast-check's report (seed, path, shrunk request) with the failed check's own message. */
function describeFailure(error: Error): string {
  const report = error.message.replace(/\n+Hint:.*$/s, '');
  const cause = error.cause instanceof Error ? error.cause.message.split('\n')[0] : '';
  return `${report.slice(0, 2500)}\n  ${cause?.slice(0, 600)}`;
}

function seedOf(route: SpecRoute, credential: CredentialClass): number {
  const digest = createHash('sha256').update(`${BASE_SEED}:${route.method} ${route.template}:${credential}`);
  return digest.digest().readInt32LE(0);
}

describe('OpenAPI-driven fuzz: every route, every credential class', () => {
  it('reads the routes from /docs/json', () => {
    expect(routes.length).toBeGreaterThan(30);
  });

  // Routes come from the running server, so each gets its test once the spec is read.
  it('no 5xx, problem+json errors, no cross-tenant reads on any route', {
    timeout: 120_000 * SCALE,
  }, async () => {
    const started = Date.now();
    const perRoute: string[] = [];
    const failures: string[] = [];
    for (const route of routes) {
      const before = sent;
      const key = `${route.method} ${route.template}`;
      for (const credential of CREDENTIALS) {
        const numRuns = reaches(route, credential)
          ? (ROUTE_RUNS[key] ?? RUNS.reached)
          : Math.min(ROUTE_RUNS[key] ?? RUNS.refused, RUNS.refused);
        const seed = seedOf(route, credential);
        const scaled = Math.round(numRuns * SCALE);
        // Every route is fuzzed even after one fails, so a run reports all it found.
        await fc
          .assert(
            fc.asyncProperty(fc.limitShrink(requestFor(route, world, credential), 40), async (req) => {
              check(route, req, await send(req));
            }),
            { seed, numRuns: scaled },
          )
          .catch((error: Error) => failures.push(`${key} with ${credential}: ${describeFailure(error)}`));
      }
      const counts = [...(statuses.get(key) ?? [])].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`);
      perRoute.push(`${key}: ${sent - before} (${counts.join(' ')})`);
    }
    console.log(
      `fuzz: ${sent} requests over ${routes.length} routes × ${CREDENTIALS.length} credential classes in ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s (FUZZ_SEED=${BASE_SEED})\n  ${perRoute.join('\n  ')}`,
    );
    const rerun = `rerun with FUZZ_SEED=${BASE_SEED} (each failure names its route's seed and path)`;
    expect(failures.length, `${rerun}\n\n${failures.join('\n\n')}`).toBe(0);
  });

  it('afterwards the server is healthy and tenant A still gets a finance job done', async () => {
    // An error after the status line went out (an event stream, a hijacked reply) shows only in the log.
    expect(server.output()).not.toMatch(/request failed|SSE re-read failed|already sent/);
    const health = await server.api('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const id = await submit(aKey, 'finance', { revenue: 1_250_000, years: 4 });
    const job = await waitForJob(server, aKey, id);
    expect(job.status).toBe('succeeded');
    // Accepted means valid: no job the fuzz got accepted failed when it ran.
    for (const token of [aKey, world.authorizations['tenant B user JWT'][0]!.slice('Bearer '.length)]) {
      const failed = await json<{ items: { id: string; error?: unknown }[] }>(
        await server.api('/v1/jobs?status=failed&limit=100', { token }),
        200,
      );
      expect(failed.items, JSON.stringify(failed.items.map((j) => j.error))).toEqual([]);
    }
    for (const earlier of world.jobs.a) {
      const res = await server.api(`/v1/jobs/${earlier}`, { token: aKey });
      expect(res.status).toBe(200);
    }
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))].filter((f) =>
  f.endsWith('.md'),
);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** Whether a documented path is a route's: segment by segment, a `{parameter}` on either side matches any. */
function sameRoute(documented: string, route: string): boolean {
  const a = documented.split('/');
  const b = route.split('/');
  const param = (segment: string) => /^\{[^}]+\}$/.test(segment);
  return a.length === b.length && a.every((segment, i) => segment === b[i] || param(segment) || param(b[i]!));
}

describe('routes the documents name', () => {
  it('every "METHOD /path" in README.md and docs/*.md is a route of the OpenAPI document the server serves', async () => {
    const { paths } = (await (await server.api('/docs/json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })),
    );
    expect(routes.length).toBeGreaterThan(60);
    const named: string[] = [];
    const missing: string[] = [];
    for (const file of DOCS) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const [, method, raw] of text.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/[A-Za-z0-9_/{}.:-]*)/g)) {
        const path = raw!.replace(/[.:]+$/, '').replace(/\/$/, '') || '/';
        // The OpenAPI document itself and its browser are not routes of the API it describes.
        if (path === '/docs' || path === '/docs/json') continue;
        named.push(`${method} ${path}`);
        if (!routes.some((r) => r.method === method && sameRoute(path, r.path)))
          missing.push(`${file}: ${method} ${path}`);
      }
    }
    expect(named.length).toBeGreaterThan(50);
    expect(missing).toEqual([]);
  }, 60_000);

  it('README: errors are application/problem+json with a code — and the OpenAPI document says so for every operation', async () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('Errors are\n`application/problem+json`');
    const spec = (await (await server.api('/docs/json')).json()) as {
      components: { schemas: Record<string, { required: string[] }> };
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    };
    expect(spec.components.schemas.Problem?.required).toEqual(expect.arrayContaining(['status', 'code']));
    const without = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => !operation.responses.default?.content?.['application/problem+json'])
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(without).toEqual([]);
    // What the document says is what a user gets.
    const answer = await server.api('/v1/jobs/j_nope', { token: server.operatorToken });
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(Object.keys(await answer.json())).toEqual(
      expect.arrayContaining(spec.components.schemas.Problem!.required),
    );
  }, 60_000);
});

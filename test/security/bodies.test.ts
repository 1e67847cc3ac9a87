import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../src/api/json-body.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { createWitness, expectProblem, expectServesWitness } from './support.ts';

let server: TestServer;
let witness: { id: string; apiKey: string };
let tenant: { id: string; apiKey: string };
beforeAll(async () => {
  server = await startTestServer();
  witness = await createWitness(server);
  const id = newTenantId('attacker');
  tenant = { id, apiKey: (await server.createTenant(id, { plan: 'enterprise' })).apiKey };
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);
const submit = (body: string, token = tenant.apiKey) =>
  server.api('/v1/models/finance/jobs', { method: 'POST', token, body });

describe('nesting depth: refused before anything parses, clones or walks the body', () => {
  it.each([
    ['a 100,000-deep array inside input', `{"input":{"revenue":${nested(100_000)}}}`],
    ['a 40,000-deep object inside input', `{"input":${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}}`],
    ['a deep array as the whole body', nested(50_000)],
    ['one level over the cap', `{"input":{"revenue":${nested(MAX_JSON_DEPTH)}}}`],
    ['deep and unterminated', `{"input":${nested(100_000).slice(0, 100_000)}`],
    ['mixed arrays and objects', `{"input":${'[{"a":'.repeat(40)}1${'}]'.repeat(40)}}`],
  ])('%s → 400', async (_what, body) => {
    const problem = await expectProblem(await submit(body), 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path)).toEqual(['/body']);
    expect(problem.errors?.[0]?.message).toContain(`${MAX_JSON_DEPTH}`);
    expect((await server.api('/healthz')).status).toBe(200);
    await expectServesWitness(server, witness);
  });

  it('the same cap holds on operator routes', async () => {
    const res = await server.api(`/v1/admin/tenants/${tenant.id}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: `{"config":{"rules":{"finance":{"defaults":{"x":${nested(10_000)}}}}}}`,
    });
    await expectProblem(res, 400, 'validation_failed');
    await expectServesWitness(server, witness);
  });

  it('nesting within the cap, and brackets inside strings, are not counted against it', async () => {
    const deepButFine = `{"input":{"currency":"${'['.repeat(500)}"},"x":${nested(MAX_JSON_DEPTH - 2)}}`;
    expect(nestsDeeperThan(deepButFine, MAX_JSON_DEPTH)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"[[[[","b":${nested(3)}}`, 4)).toBe(false);
    expect(nestsDeeperThan(nested(5), 4)).toBe(true);
    // Accepted by the parser, then refused by the submit's own checks with field names.
    const problem = await expectProblem(await submit(deepButFine), 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path)).toContain('/body/x');
  });
});

describe('fields outside input are refused by name, never ignored', () => {
  it.each([
    ['fields meant for input', '{"revenue":5000000,"years":10}', ['/body/revenue', '/body/years']],
    ['input plus a stray field', '{"input":{},"years":10}', ['/body/years']],
    ['a misspelt input', '{"inputs":{"years":10}}', ['/body/inputs']],
    ['a stray field and a priority', '{"input":{},"priority":1,"tenantId":"other"}', ['/body/tenantId']],
    ['a key with a slash', '{"input":{},"a/b":1}', ['/body/a~1b']],
  ])('%s → 400', async (_what, body, fields) => {
    const problem = await expectProblem(await submit(body), 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path).sort()).toEqual([...fields].sort());
    await expectServesWitness(server, witness);
  });

  // README: "an errors list naming every bad field" — a bad priority or Idempotency-Key hid the input's.
  it('a bad priority, a bad Idempotency-Key and a bad input are named in one answer', async () => {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: tenant.apiKey,
      body: '{"input":{"years":500,"revenue":"x"},"priority":12}',
      headers: { 'idempotency-key': 'not a key!' },
    });
    const problem = await expectProblem(res, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(
      ['/headers/idempotency-key', '/input/revenue', '/input/years', '/priority'].sort(),
    );
  });

  it('a correct body is still accepted, with its priority', async () => {
    const res = await submit('{"input":{"years":6},"priority":3}');
    expect(res.status).toBe(202);
  });
});

describe('every body schema refuses fields it does not know', () => {
  it.each([
    [
      'POST /v1/admin/tenants',
      'POST',
      '/v1/admin/tenants',
      { id: newTenantId('x'), name: 'X', owner: 'me' },
      '/body/owner',
    ],
    ['PATCH /v1/admin/tenants/:id', 'PATCH', 'TENANT', { name: 'Y', apiKeys: [] }, '/body/apiKeys'],
    [
      'POST /v1/admin/tokens',
      'POST',
      '/v1/admin/tokens',
      { tenants: [], user: 'u', admin: true },
      '/body/admin',
    ],
    [
      'POST /v1/admin/dead-letters/redrive',
      'POST',
      '/v1/admin/dead-letters/redrive',
      { queue: 'finance', all: true },
      '/body/all',
    ],
    [
      'POST /v1/admin/advisor/apply',
      'POST',
      '/v1/admin/advisor/apply',
      { tenantIds: [], force: true },
      '/body/force',
    ],
    [
      'POST /v1/admin/tenants/:id/placement',
      'POST',
      'TENANT/placement',
      { placement: 'shared', now: true },
      '/body/now',
    ],
  ])('%s', async (_what, method, path, body, field) => {
    const url = path.replace('TENANT', `/v1/admin/tenants/${tenant.id}`);
    const res = await server.api(url, { method, token: server.operatorToken, body: JSON.stringify(body) });
    const problem = await expectProblem(res, 400);
    expect(problem.errors?.map((e) => e.path)).toContain(field);
    await expectServesWitness(server, witness);
  });

  it('PUT /v1/settings/webhook', async () => {
    const res = await server.api('/v1/settings/webhook', {
      method: 'PUT',
      token: tenant.apiKey,
      body: JSON.stringify({ url: 'https://example.com/hook', secret: 'mine' }),
    });
    const problem = await expectProblem(res, 400);
    expect(problem.errors?.map((e) => e.path)).toContain('/body/secret');
  });
});

// Found attacking the fixes: bodies are typed JSON, so nothing in them is coerced to the schema's types,
// and JSON is read only as sent in UTF-8.
describe('bodies are read as sent', () => {
  it.each([
    [
      'a webhook URL inside an array',
      '/v1/settings/webhook',
      'PUT',
      '{"url":["https://hooks.example.com/h"]}',
      '/body/url',
    ],
    [
      'a priority as a string',
      '/v1/models/finance/jobs',
      'POST',
      '{"input":{},"priority":"3"}',
      '/body/priority',
    ],
    [
      'a priority of null',
      '/v1/models/finance/jobs',
      'POST',
      '{"input":{},"priority":null}',
      '/body/priority',
    ],
  ])('%s is a 400, not coerced', async (_what, path, method, body, field) => {
    const res = await server.api(path, { method, token: tenant.apiKey, body });
    const problem = await expectProblem(res, 400);
    expect(problem.errors?.map((e) => e.path.replace(/^\/body/, ''))).toContain(field.replace(/^\/body/, ''));
    await expectServesWitness(server, witness);
  });

  it('a grace period of null when rotating a key is a 400, not an immediate revoke', async () => {
    const keys = (await (
      await server.api(`/v1/admin/tenants/${tenant.id}/api-keys`, { token: server.operatorToken })
    ).json()) as { items: { id: string }[] };
    const res = await server.api(`/v1/admin/tenants/${tenant.id}/api-keys/${keys.items[0]!.id}/rotate`, {
      method: 'POST',
      token: server.operatorToken,
      body: '{"graceSeconds":null}',
    });
    await expectProblem(res, 400);
    expect((await server.api('/v1/jobs', { token: tenant.apiKey })).status).toBe(200);
  });

  it('query strings are still read as their types (?limit=5)', async () => {
    expect((await server.api('/v1/jobs?limit=5', { token: tenant.apiKey })).status).toBe(200);
  });

  it.each([
    ['application/json; charset=utf-16', {}],
    ['application/json; charset=latin1', {}],
    ['application/json; charset="ISO-8859-1"', {}],
    ['application/json', { 'content-encoding': 'gzip' }],
    ['application/json', { 'content-encoding': 'br' }],
  ])('a body sent as %s %o is a 415, not read as UTF-8 JSON', async (type, extra) => {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: tenant.apiKey,
      body: '{"input":{}}',
      headers: { 'content-type': type, ...extra },
    });
    await expectProblem(res, 415, 'unsupported_media_type');
    await expectServesWitness(server, witness);
  });

  it('charset=utf-8 (any spelling) is read', async () => {
    for (const type of ['application/json; charset=utf-8', 'application/json; charset=UTF8']) {
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: tenant.apiKey,
        body: '{"input":{}}',
        headers: { 'content-type': type },
      });
      expect(res.status, type).toBe(202);
    }
  });
});

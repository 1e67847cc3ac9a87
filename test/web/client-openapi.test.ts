import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ROUTES, createClient, type Job, ProblemError } from '../../src/client/index.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

/** `/v1/jobs/{jobId}` and `/v1/jobs/{id}` are the same route: parameter names do not matter. */
function normalise(path: string): string {
  return path.replace(/\{[^}]+\}/g, '{}');
}

describe('typed API client against the real server', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('calls only routes that the OpenAPI document declares', async () => {
    const res = await fetch(`${server.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const declared = new Set(
      Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${normalise(path)}`),
      ),
    );
    const missing = CLIENT_ROUTES.filter((route) => {
      const [method, path] = route.split(' ') as [string, string];
      return !declared.has(`${method} ${normalise(path)}`);
    });
    expect(missing).toEqual([]);
  });

  it('works on its own in Node: submit, follow over SSE, download, list, problems', async () => {
    const tenantId = newTenantId('client');
    const operator = createClient({ baseUrl: server.url, token: server.operatorToken });
    const created = await operator.createTenant({ id: tenantId, name: 'Client Co' });
    expect(created.tenant.id).toBe(tenantId);

    const client = createClient({ baseUrl: server.url, token: created.apiKey, tenantId });
    const models = await client.listModels();
    expect(models.map((m) => m.name)).toContain('finance');

    const key = `client-${tenantId}`;
    const job = await client.submitJob('finance', { years: 3 }, { idempotencyKey: key });
    // The same Idempotency-Key answers the same job: a retried request does not run twice.
    expect((await client.submitJob('finance', { years: 3 }, { idempotencyKey: key })).id).toBe(job.id);

    const seen: Job['status'][] = [];
    let last: Job | undefined;
    for await (const update of client.watchJob(job.id)) {
      seen.push(update.status);
      last = update;
    }
    expect(last?.status).toBe('succeeded');
    expect(last?.artifacts.length).toBeGreaterThan(0);

    const artifact = last!.artifacts[0]!;
    const { blob, fileName } = await client.downloadArtifact(job.id, artifact.name);
    expect(fileName).toMatch(/\.xlsx$/);
    expect(
      Buffer.from(await blob.arrayBuffer())
        .subarray(0, 2)
        .toString(),
    ).toBe('PK');

    const listed = await client.listJobs({ status: 'succeeded', model: 'finance', limit: 10 });
    expect(listed.items.map((j) => j.id)).toContain(job.id);

    const invalid = await client.submitJob('finance', { discountRate: 5 }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ProblemError);
    const problem = (invalid as ProblemError).problem;
    expect(problem.status).toBe(400);
    expect(problem.errors?.map((e) => e.path)).toContain('/input/discountRate');

    // Another tenant's job answers 404, as if it did not exist.
    const other = await operator.createTenant({ id: newTenantId('client'), name: 'Other Co' });
    const stranger = createClient({ baseUrl: server.url, token: other.apiKey, tenantId: other.tenant.id });
    const hidden = await stranger.getJob(job.id).catch((e: unknown) => e);
    expect((hidden as ProblemError).status).toBe(404);
  });
});

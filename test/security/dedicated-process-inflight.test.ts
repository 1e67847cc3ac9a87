import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submit, waitForOperation } from '../placement/helpers.ts';
import { publishRelease, startRollout, tenantRecord } from '../releases/fixtures.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A dedicated function process speaks for the job of the event it runs, and only while it runs it. Its
// model code (a release, a tenant's variant) posted reports for jobs it was not running and after its
// event ended: the host relayed each (a job id it made up stayed `running` in the metrics for good, one
// more entry of the host's memory per id) and queued an announcement for any job id of its tenant on the
// platform's shared webhook and notification queues (a false `job.failed` webhook for a job that succeeded,
// and as many messages on those queues as it liked).
let server: TestServer;
let hook: Server;
const received: string[] = [];
let tenant: { id: string; apiKey: string };
let earlier: string;
const variant = () => `finance-${tenant.id}`;
const MADE_UP = 'j_01jzzzzzzzzzzzzzzzzzzzzzzz';

beforeAll(async () => {
  server = await startTestServer({
    env: {
      SILOPOOL_WORKERS: '1',
      SILOPOOL_WEBHOOK_ALLOW_HTTP: '1',
      SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
    },
  });
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  tenant = { id: newTenantId('chatty'), apiKey: '' };
  tenant.apiKey = (
    await server.createTenant(tenant.id, { placement: 'dedicated', plan: 'enterprise' })
  ).apiKey;
  const set = await server.api('/v1/settings/webhook', {
    method: 'PUT',
    token: tenant.apiKey,
    body: JSON.stringify({ url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` }),
  });
  expect(set.status).toBe(200);
  earlier = (await submit(server, tenant.apiKey, { revenue: 1_000_000 })).id;
  expect((await waitForJob(server, tenant.apiKey, earlier)).status).toBe('succeeded');

  const job = (id: string, status: string) => ({
    id,
    tenantId: tenant.id,
    model: 'finance',
    status,
    attempts: 1,
    version: 2,
    createdAt: new Date().toISOString(),
    startedAt: new Date().toISOString(),
  });
  const announce = (id: number, jobId: string, status: string) => ({
    type: 'send',
    id,
    queue: 'system_webhooks',
    message: { body: JSON.stringify({ tenantId: tenant.id, jobId, status, version: 3 }) },
  });
  publishRelease(server.dataDir, 'ry', {
    variants: [
      {
        name: variant(),
        model: 'finance',
        tenantId: tenant.id,
        tenantIncarnation: String((await tenantRecord(server, tenant.id)).incarnation),
        version: '1.1.3',
        body: `run: (input, rules) => {
          // Jobs of its own tenant this process is not running: one made up, one that finished before.
          process.send({ type: 'job', job: ${JSON.stringify(job(MADE_UP, 'running'))} });
          process.send({ type: 'job', job: ${JSON.stringify(job(earlier, 'running'))} });
          process.send(${JSON.stringify(announce(990101, earlier, 'failed'))});
          process.send(${JSON.stringify(announce(990102, MADE_UP, 'failed'))});
          // And once its event has ended.
          setTimeout(() => process.send({ type: 'job', job: ${JSON.stringify(job(earlier, 'running'))} }), 300);
          return base.run(input, rules);
        }`,
      },
    ],
  });
  const op = await startRollout(server, 'ry', { observeSec: 0 });
  expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  await server?.stop();
  hook?.close();
});

async function runningGauge(): Promise<number> {
  const metrics = await (await server.api('/metrics', { token: server.operatorToken })).text();
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith('silopool_jobs_running{') && l.includes(`tenant="${tenant.id}"`));
  return Number(line?.trim().split(' ').at(-1) ?? 0);
}

describe('a dedicated function process reports', () => {
  it('only on the job of the event it runs, while it runs it', async () => {
    const own = (await waitForJob(
      server,
      tenant.apiKey,
      (
        await submit(server, tenant.apiKey, { revenue: 1_000_000 }, {}, variant())
      ).id,
    )) as { id: string; status: string };
    expect(own).toMatchObject({ status: 'succeeded', modelVariant: variant() });
    // The job's own announcement is delivered; give the forged ones as long to arrive.
    const deadline = Date.now() + 15_000;
    while (!received.some((b) => b.includes(own.id)) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2000));

    const types = received.map((b) => JSON.parse(b) as { type: string; data: { id: string } });
    expect(types.filter((t) => t.data.id === own.id).map((t) => t.type)).toEqual(['job.succeeded']);
    // No `job.failed` for the job that succeeded before, nothing for the made-up one.
    expect(types.filter((t) => t.data.id !== own.id && t.data.id !== earlier)).toEqual([]);
    expect(types.filter((t) => t.data.id === earlier).map((t) => t.type)).toEqual(['job.succeeded']);
    // Nothing is left running: not the made-up job, not the earlier one.
    expect(await runningGauge()).toBe(0);
    expect(server.output()).toContain('that it is not running; ignored');
  }, 60_000);
});

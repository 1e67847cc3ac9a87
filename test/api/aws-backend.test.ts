import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMove, waitForOperation } from '../placement/helpers.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// The whole journey with the server on the AWS adapters: SQS, DynamoDB and S3 (in-process emulators).
let aws: AwsEmulators;
let server: TestServer;
beforeAll(async () => {
  aws = await startAwsEmulators();
  server = await startTestServer({ env: { SILOPOOL_BACKEND: 'aws', ...(await aws.platformEnv()) } });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await aws?.stop();
});

describe('the server with SILOPOOL_BACKEND=aws', () => {
  it('onboards, submits, runs, streams and serves the workbook through SQS, DynamoDB and S3', async () => {
    const tenant = newTenantId('aws');
    const other = newTenantId('aws');
    const { apiKey } = await server.createTenant(tenant);
    const otherKey = (await server.createTenant(other)).apiKey;
    const submit = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      headers: { 'idempotency-key': 'k1' },
      body: JSON.stringify({ input: { revenue: 2_000_000, years: 4 } }),
    });
    expect(submit.status).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const job = (await waitForJob(server, apiKey, id, { timeoutMs: 30_000 })) as {
      status: string;
      summary: { enterpriseValue: number };
      artifacts: { url: string }[];
    };
    expect(job.status).toBe('succeeded');
    const download = await server.api(job.artifacts[0]!.url, { token: apiKey });
    expect(download.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await download.arrayBuffer()) as never);
    expect(workbook.worksheets.length).toBeGreaterThanOrEqual(2);
    // The same isolation on the AWS adapters: another tenant's key sees a 404.
    expect((await server.api(`/v1/jobs/${id}`, { token: otherKey })).status).toBe(404);
    const replay = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      headers: { 'idempotency-key': 'k1' },
      body: JSON.stringify({ input: { revenue: 2_000_000, years: 4 } }),
    });
    expect(((await replay.json()) as { id: string }).id).toBe(id);
  }, 60_000);

  it("caps a shared tenant's queued jobs although SQS cannot count a shared queue by tenant", async () => {
    const tenant = newTenantId('awscap');
    // maxRunningJobs 0 pauses its processing: every admitted job stays queued.
    const { apiKey } = await server.createTenant(tenant, {
      config: { limits: { maxRunningJobs: 0, maxQueuedJobs: 2, submitRatePerSec: 100, submitBurst: 100 } },
    });
    // Created paused: the function host applies the new tenant's limits before its first job can start.
    const submit = () =>
      server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { revenue: 1_000_000 } }),
      });
    expect((await submit()).status).toBe(202);
    expect((await submit()).status).toBe(202);
    // Past the moments admission trusts its own recent admits: the count comes from the store alone.
    await new Promise((r) => setTimeout(r, 1500));
    const refused = await submit();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { limit: string }).limit).toBe('queued_jobs');
  }, 30_000);

  // Under load the pool's threads hold their one slot in turn for each queue they consume (two shared, two
  // dedicated): this passes only if idle consumers hand it to the backlogged one without a long poll each
  // (see the SQS adapter's receive). The embedded equivalent: test/placement/move-under-load.
  it('promotes a tenant to dedicated and back while it submits: no request fails, every job ends once', async () => {
    const tenant = newTenantId('awsmove');
    const { apiKey } = await server.createTenant(tenant);
    const accepted: string[] = [];
    const failures: string[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const res = await server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: apiKey,
          body: JSON.stringify({ input: { revenue: 1_000_000 + accepted.length } }),
        });
        if (res.status === 202) accepted.push(((await res.json()) as { id: string }).id);
        else failures.push(`submit ${res.status} ${await res.text()}`);
        const first = accepted[0];
        if (first) {
          const read = await server.api(`/v1/jobs/${first}`, { token: apiKey });
          if (read.status !== 200) failures.push(`read ${read.status}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    for (const to of ['dedicated', 'shared'] as const) {
      await new Promise((r) => setTimeout(r, 800));
      const op = await startMove(server, tenant, to);
      const done = await waitForOperation(server, op.id, 90_000);
      expect(done.status, JSON.stringify(done.steps)).toBe('succeeded');
      const now = (await (
        await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })
      ).json()) as {
        placement: string;
      };
      expect(now.placement).toBe(to);
    }
    running = false;
    await load;
    expect(failures).toEqual([]);
    expect(accepted.length).toBeGreaterThan(10);
    for (const id of accepted) {
      const job = (await waitForJob(server, apiKey, id, { timeoutMs: 30_000 })) as {
        status: string;
        attempts: number;
        artifacts: { url: string }[];
      };
      expect(job.status).toBe('succeeded');
      expect(job.artifacts).toHaveLength(1);
    }
    const first = (await (await server.api(`/v1/jobs/${accepted[0]}`, { token: apiKey })).json()) as {
      artifacts: { url: string }[];
    };
    expect((await server.api(first.artifacts[0]!.url, { token: apiKey })).status).toBe(200);
    // After the demotion nothing of the dedicated lanes is left: its SQS queues are gone.
    const queues = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: `tenant_${tenant}_` }));
    expect(queues.QueueUrls ?? []).toEqual([]);
  }, 180_000);
});

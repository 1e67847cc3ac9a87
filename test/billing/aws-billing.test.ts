import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureUsageTable } from '../../src/adapters/aws/usage-ledger.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { fromToday } from '../support/proration.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// Metering and statements with the server on the AWS adapters (DynamoDB usage table with its byDay index).
let aws: AwsEmulators;
let server: TestServer;
beforeAll(async () => {
  aws = await startAwsEmulators();
  const usageTable = `usage-${randomUUID().slice(0, 8)}`;
  await ensureUsageTable(aws.dynamo, usageTable);
  server = await startTestServer({
    env: { SILOPOOL_BACKEND: 'aws', SILOPOOL_USAGE_TABLE: usageTable, ...(await aws.platformEnv()) },
  });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await aws?.stop();
});

describe('billing with SILOPOOL_BACKEND=aws', () => {
  it('meters a finished job once in DynamoDB and bills it on the statement', async () => {
    const tenant = newTenantId('awsbill');
    const { apiKey } = await server.createTenant(tenant);
    const submit = await server.api('/v1/models/funds/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { simulations: 2000, seed: 7 } }),
    });
    const { id } = (await submit.json()) as { id: string };
    expect(((await waitForJob(server, apiKey, id, { timeoutMs: 30_000 })) as { status: string }).status).toBe(
      'succeeded',
    );
    const usage = (await (await server.api('/v1/billing/usage', { token: apiKey })).json()) as {
      usage: Record<string, number>;
    };
    expect(usage.usage).toMatchObject({ jobs: 1, mc_paths: 2000 });
    const month = new Date().toISOString().slice(0, 7);
    const summary = (await (
      await server.api(`/v1/admin/billing/summary?month=${month}`, { token: server.operatorToken })
    ).json()) as { items: { tenantId: string; usage: Record<string, number>; total: number }[] };
    const mine = summary.items.find((i) => i.tenantId === tenant)!;
    expect(mine.usage.jobs).toBe(1);
    // Standard's $500.00 a month for the days from today, its day of creation (docs/billing.md).
    expect(mine.total).toBe(fromToday(50_000));
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedicatedBucketName, dedicatedTableName, tenantStackName } from '../../src/adapters/aws/naming.ts';
import { tenantStackParameters } from '../../src/adapters/aws/tenant-stack.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_FUNCTION_SETTINGS } from '../../src/core/tenant.ts';
import { startMove, waitForOperation } from '../placement/helpers.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import type { CloudFormationEmulator } from '../support/cloudformation-emulator.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { runFinanceJob, startTenantStacks, type TenantStacks } from '../support/tenant-stacks.ts';

// Dedicated placement on AWS as the control plane does it: one CloudFormation stack per tenant from the
// template the platform publishes (synthesized here from infra/, as `npm run synth` does), created and
// deleted by the control plane. The CloudFormation emulator really creates the template's queues, table
// and bucket on the SQS/S3/DynamoDB emulators, so jobs only run if the template's names are the ones
// the runtime looks up.
// fauxqs names every queue ARN with this account: redrive policies from the template must match it.
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const CODE = { bucket: 'silopool-releases', key: 'model/abc123.zip' };
const DEPLOYER = `arn:aws:iam::${ACCOUNT}:role/silopool-tenant-deployer-${REGION}`;

let aws: AwsEmulators;
let cfn: CloudFormationEmulator;
let server: TestServer;
let template: TenantStacks['template'];
let templateUrl: string;

beforeAll(async () => {
  aws = await startAwsEmulators();
  ({ cfn, template, templateUrl } = await startTenantStacks(aws, { account: ACCOUNT, region: REGION }));
  server = await startTestServer({
    env: {
      ...(await aws.platformEnv()),
      SILOPOOL_BACKEND: 'aws',
      SILOPOOL_ACCOUNT: ACCOUNT,
      SILOPOOL_PROVISIONING: 'stack',
      // The CloudFormation emulator has no DescribeAccountLimits, nor Lambda GetAccountSettings (docs/aws.md).
      SILOPOOL_ACCOUNT_QUOTAS: 'unchecked',
      SILOPOOL_TENANT_TEMPLATE_URL: templateUrl,
      SILOPOOL_TENANT_CODE_BUCKET: CODE.bucket,
      SILOPOOL_TENANT_CODE_KEY: CODE.key,
      SILOPOOL_TENANT_DEPLOYER_ROLE_ARN: DEPLOYER,
      SILOPOOL_STACK_POLL_MS: '50',
      AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.endpoint,
    },
  });
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await cfn?.close();
  await aws?.stop();
});

async function tenantOf(id: string) {
  const res = await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken });
  return (await res.json()) as { placement: string; move?: { to: string } };
}

async function tableExists(name: string): Promise<boolean> {
  try {
    await aws.dynamo.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

async function bucketExists(name: string): Promise<boolean> {
  try {
    await aws.s3.send(new HeadBucketCommand({ Bucket: name }));
    return true;
  } catch {
    return false;
  }
}

describe('dedicated tenants as CloudFormation stacks (SILOPOOL_PROVISIONING=stack)', () => {
  it('onboards a dedicated tenant: it serves shared at once, its stack is created, then it runs on its own resources; demotion deletes the stack', async () => {
    const id = newTenantId('stk') as TenantId;
    const created = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ id, name: 'Stack Co', placement: 'dedicated' }),
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as {
      tenant: { placement: string; move?: { to: string } };
      apiKey: string;
      operation?: { id: string; url: string };
    };
    // A stack takes minutes: the tenant starts shared with a promotion under way, and can submit now.
    expect(body.tenant.placement).toBe('shared');
    expect(body.tenant.move?.to).toBe('dedicated');
    expect(body.operation?.url).toBe(`/v1/admin/operations/${body.operation?.id}`);
    const early = await runFinanceJob(server, body.apiKey, 1_000_000);

    const op = await waitForOperation(server, body.operation!.id, 60_000);
    expect(op.status, JSON.stringify(op.steps)).toBe('succeeded');
    expect(op.steps[0]?.detail).toMatch(/CREATE_COMPLETE/);
    expect((await tenantOf(id)).placement).toBe('dedicated');

    // The stack: the runtime's names as parameters, the deployer role, the tenant tag.
    const stack = cfn.stack(tenantStackName(id));
    expect(stack?.status).toBe('CREATE_COMPLETE');
    expect(stack?.parameters).toEqual(
      tenantStackParameters({
        tenantId: id,
        settings: DEFAULT_FUNCTION_SETTINGS,
        account: ACCOUNT,
        region: REGION,
        code: CODE,
      }),
    );
    expect(stack?.roleArn).toBe(DEPLOYER);
    expect(stack?.tags['silopool:tenant']).toBe(id);
    expect(
      cfn.calls.filter((c) => c.action === 'CreateStack' && c.stackName === tenantStackName(id)),
    ).toHaveLength(1);
    expect(await tableExists(dedicatedTableName(id))).toBe(true);
    expect(await bucketExists(dedicatedBucketName(id, ACCOUNT, REGION))).toBe(true);

    // Jobs now run from the stack's queues against the stack's table and bucket; the early job moved there.
    const late = await runFinanceJob(server, body.apiKey, 2_000_000);
    expect((await server.api(late.job.artifacts[0]!.url, { token: body.apiKey })).status).toBe(200);
    expect((await server.api(early.job.artifacts[0]!.url, { token: body.apiKey })).status).toBe(200);

    // Demotion: data back to shared, then the stack is deleted (its bucket emptied first).
    const back = await waitForOperation(server, (await startMove(server, id, 'shared')).id, 60_000);
    expect(back.status, JSON.stringify(back.steps)).toBe('succeeded');
    expect(back.steps.at(-1)?.detail).toMatch(/deleted stack/);
    expect(cfn.stack(tenantStackName(id))).toBeUndefined();
    expect(await tableExists(dedicatedTableName(id))).toBe(false);
    expect(await bucketExists(dedicatedBucketName(id, ACCOUNT, REGION))).toBe(false);
    const queues = await aws.sqs.send(new ListQueuesCommand({ QueueNamePrefix: `tenant_${id}_` }));
    expect(queues.QueueUrls ?? []).toEqual([]);
    for (const { job } of [early, late])
      expect((await server.api(job.artifacts[0]!.url, { token: body.apiKey })).status).toBe(200);
  }, 180_000);

  it('refuses a dedicated onboarding whose queue names would not fit, before creating anything', async () => {
    const id = `z${'x'.repeat(61)}`;
    const res = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ id, name: 'Too long', placement: 'dedicated' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("more than SQS's 80");
    expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(404);
  });

  it('a stack that fails rolls the promotion back with CloudFormation’s reason; the tenant keeps serving shared', async () => {
    const id = newTenantId('stkfail') as TenantId;
    const { apiKey } = await server.createTenant(id);
    const tableId = Object.entries(template.Resources).find(
      ([, r]) => r.Type === 'AWS::DynamoDB::Table',
    )?.[0];
    expect(tableId).toBeDefined();
    cfn.failNext(tenantStackName(id), tableId!, 'Subscriber limit exceeded: tables per account');
    const op = await waitForOperation(server, (await startMove(server, id, 'dedicated')).id, 60_000);
    expect(op.status).toBe('failed');
    expect((op.error as { code?: string } | undefined)?.code).toBe('provisioning_failed');
    expect(op.error?.message).toMatch(/Subscriber limit exceeded/);
    const tenant = await tenantOf(id);
    expect(tenant.placement).toBe('shared');
    expect(tenant.move).toBeUndefined();
    // The rolled-back stack is deleted, so a later promotion starts clean.
    expect(cfn.stack(tenantStackName(id))).toBeUndefined();
    await runFinanceJob(server, apiKey, 3_000_000);
  }, 120_000);

  it('new function settings of a dedicated tenant update its stack through an operation', async () => {
    const id = newTenantId('stkset') as TenantId;
    const { apiKey } = await server.createTenant(id);
    const op = await waitForOperation(server, (await startMove(server, id, 'dedicated')).id, 60_000);
    expect(op.status, JSON.stringify(op.steps)).toBe('succeeded');
    const patch = (config: Record<string, unknown>) =>
      server.api(`/v1/admin/tenants/${id}`, {
        method: 'PATCH',
        token: server.operatorToken,
        body: JSON.stringify({ config }),
      });
    // Formatting changes touch no stack.
    const plain = await patch({ formatting: { companyName: 'Stack Set Ltd' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('operation-location')).toBeNull();

    const res = await patch({ function: { reservedConcurrency: 5, timeoutSec: 60 } });
    expect(res.status).toBe(200);
    const location = res.headers.get('operation-location');
    expect(location).toMatch(/^\/v1\/admin\/operations\/op_/);
    const applied = await waitForOperation(server, location!.split('/').at(-1)!, 60_000);
    expect(applied.status, JSON.stringify(applied.steps)).toBe('succeeded');
    expect(applied.steps[0]?.detail).toMatch(/UPDATE_COMPLETE/);
    const stack = cfn.stack(tenantStackName(id));
    expect(stack?.parameters.ReservedConcurrency).toBe('5');
    expect(stack?.parameters.QueueVisibilityTimeoutSec).toBe('360');
    expect(
      cfn.calls.filter((c) => c.action === 'UpdateStack' && c.stackName === tenantStackName(id)),
    ).toHaveLength(1);
    await runFinanceJob(server, apiKey, 5_000_000);
  }, 120_000);

  it('offboarding a dedicated tenant is an operation: export first, then its stack is deleted', async () => {
    const id = newTenantId('stkoff') as TenantId;
    const { apiKey } = await server.createTenant(id);
    const op = await waitForOperation(server, (await startMove(server, id, 'dedicated')).id, 60_000);
    expect(op.status, JSON.stringify(op.steps)).toBe('succeeded');
    await runFinanceJob(server, apiKey, 4_000_000);
    const res = await server.api(`/v1/admin/tenants/${id}/offboard`, {
      method: 'POST',
      token: server.operatorToken,
    });
    // Deleting a stack takes minutes: offboarding answers with an operation, its export comes after.
    expect(res.status).toBe(202);
    const started = (await res.json()) as { id: string; kind: string };
    expect(started.kind).toBe('offboard');
    const early = await server.api(`/v1/admin/operations/${started.id}/export`, {
      token: server.operatorToken,
    });
    expect([409, 200]).toContain(early.status);
    const done = await waitForOperation(server, started.id, 60_000);
    expect(done.status, JSON.stringify(done.steps)).toBe('succeeded');
    const zip = await server.api(`/v1/admin/operations/${started.id}/export`, {
      token: server.operatorToken,
    });
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    expect(Object.keys(files)).toContain('tenant.json');
    expect(Object.keys(files).filter((f) => f.startsWith('jobs/'))).toHaveLength(1);
    expect(Object.keys(files).some((f) => f.startsWith('objects/'))).toBe(true);
    expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(404);
    expect(cfn.stack(tenantStackName(id))).toBeUndefined();
    expect(await bucketExists(dedicatedBucketName(id, ACCOUNT, REGION))).toBe(false);
  }, 120_000);

  it('the CLI follows an offboarding operation and writes its export', async () => {
    const id = newTenantId('stkcli') as TenantId;
    const { apiKey } = await server.createTenant(id);
    await runFinanceJob(server, apiKey, 6_000_000);
    const dir = mkdtempSync(join(tmpdir(), 'silopool-cli-export-'));
    try {
      const file = join(dir, 'export.zip');
      const bin = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [bin, 'tenants', 'offboard', id, '--export', file, '--yes', '--json'],
        { env: { ...process.env, SILOPOOL_URL: server.url, SILOPOOL_TOKEN: server.operatorToken } },
      );
      expect(JSON.parse(stdout)).toMatchObject({ tenantId: id, export: file });
      const files = unzipSync(new Uint8Array(readFileSync(file)));
      expect(Object.keys(files)).toContain('tenant.json');
      expect((await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })).status).toBe(404);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

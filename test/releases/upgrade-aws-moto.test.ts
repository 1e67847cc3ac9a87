import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantAlarmNames, tenantStackName } from '../../src/adapters/aws/naming.ts';
import { RELEASE_POINTER_KEY } from '../../src/adapters/aws/release-pointer.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { listModels } from '../../src/models/registry.ts';
import { submit, until, waitForOperation } from '../placement/helpers.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { putTenantAlarmsOk } from '../support/cloudwatch.ts';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { EMPTY_ZIP, motoTenantTemplate } from '../support/moto-stacks.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { publishRelease, type RolloutView, startRollout, tenantRecord } from './fixtures.ts';

/**
 * The upgrade operation of the AWS backend on moto: the server in `stack` mode with SQS, DynamoDB, S3,
 * CloudFormation and CloudWatch all on one moto_server. Every dedicated tenant is a real tenant stack made
 * by onboarding; an upgrade updates each stack to the release's template (`releases/{r}/tenant-template.json`
 * beside the platform's) and bundle (`releases/{r}/model.zip`) in waves. The release templates carry an
 * output `Release` so a stack shows which release's template it runs. Lambda does not run on moto (it
 * needs Docker): the server's own function host consumes the stacks' queues, as in aws-stacks-moto.test.ts.
 *
 * moto 5.2's CloudFormation skips `AWS::CloudWatch::Alarm` ("not supported by moto's CloudFormation
 * implementation"), so the test makes each tenant's alarms itself with PutMetricAlarm, under the names
 * the stack gives them (`tenantAlarmNames`), and drives one into ALARM with SetAlarmState.
 *
 * Measured on a shared 2-core machine (moto 5.2.1): onboarding 50 tenant stacks took 44 s (10 at a time)
 * and upgrading them in waves 1, 2, 4, 8, 16, 19 took 16 s (about 0.3 s a stack update, waves watched
 * 0.5 s), the whole file 100 s; with another moto test file running beside it, 84 s and 50 s (200 s in all).
 * Over the ~90 s a default run may spend on stacks, so the default is 12 tenants (waves 1, 2, 4, 5: 10 s to
 * create, 3.4 s to upgrade, 32 s the file) and `UPGRADE_SCALE=50` runs the 50.
 */
const TENANTS = Number(process.env.UPGRADE_SCALE ?? 12);
const ACCOUNT = '123456789012'; // moto's account
const REGION = 'us-east-1';
const MODELS = listModels().map((m) => m.name);
let aws: AwsEmulators;
let cfn: CloudFormationClient;
let cloudWatch: CloudWatchClient;
let server: TestServer;
let releases: string;
const dedicated: { id: TenantId; apiKey: string }[] = [];
const timings: Record<string, number> = {};

/** Publishes release `id`: its template and bundle in the releases bucket, its code in the server's catalog. */
async function publish(id: string, finance: { version: string; body: string }) {
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: releases,
      Key: `releases/${id}/tenant-template.json`,
      Body: motoTenantTemplate(MODELS, id),
    }),
  );
  await aws.s3.send(
    new PutObjectCommand({ Bucket: releases, Key: `releases/${id}/model.zip`, Body: EMPTY_ZIP }),
  );
  publishRelease(server.dataDir, id, { models: { finance } });
}

async function stackOf(id: string): Promise<Stack> {
  const out = await cfn.send(new DescribeStacksCommand({ StackName: tenantStackName(id as TenantId) }));
  const stack = out.Stacks?.[0];
  if (!stack) throw new Error(`no stack for ${id}`);
  return stack;
}

/** What moto shows of a stack: its status, the bundle its functions run and the release its template is. */
async function deployed(id: string) {
  const stack = await stackOf(id);
  return {
    status: stack.StackStatus,
    codeKey: stack.Parameters?.find((p) => p.ParameterKey === 'CodeKey')?.ParameterValue,
    release: stack.Outputs?.find((o) => o.OutputKey === 'Release')?.OutputValue,
  };
}

async function runFinance(tenant: { apiKey: string }) {
  const job = await submit(server, tenant.apiKey, { revenue: 2_000_000 });
  return waitForJob(server, tenant.apiKey, job.id, { timeoutMs: 60_000 });
}

let platformEnv: Record<string, string>;

describe.skipIf(!motoAvailable())(
  `upgrades of tenant stacks on moto ${motoAvailable() ? '' : MOTO_MISSING}`,
  () => {
    beforeAll(async () => {
      aws = await startAwsEmulators({ backend: 'moto' });
      releases = await aws.createBucket('releases');
      await aws.s3.send(
        new PutObjectCommand({
          Bucket: releases,
          Key: 'tenant.template.json',
          Body: motoTenantTemplate(MODELS),
        }),
      );
      await aws.s3.send(new PutObjectCommand({ Bucket: releases, Key: 'model.zip', Body: EMPTY_ZIP }));
      const clientOptions = {
        endpoint: aws.endpoints.s3,
        region: REGION,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      };
      cfn = new CloudFormationClient(clientOptions);
      cloudWatch = new CloudWatchClient(clientOptions);
      platformEnv = await aws.platformEnv();
      server = await startTestServer({
        env: {
          ...platformEnv,
          SILOPOOL_BACKEND: 'aws',
          SILOPOOL_ACCOUNT: ACCOUNT,
          SILOPOOL_PROVISIONING: 'stack',
          SILOPOOL_ACCOUNT_QUOTAS: 'unchecked',
          SILOPOOL_TENANT_TEMPLATE_URL: `https://${releases}.s3.amazonaws.com/tenant.template.json`,
          SILOPOOL_TENANT_CODE_BUCKET: releases,
          SILOPOOL_TENANT_CODE_KEY: 'model.zip',
          SILOPOOL_STACK_POLL_MS: '100',
          // Every dedicated lane is consumed here on one long-polling slot each turn: enough slots that a lane's
          // turn comes within seconds (with one, 24 idle lanes made each retry wait about 25 s).
          SILOPOOL_EVENTS_PER_THREAD: '16',
          AWS_ENDPOINT_URL_CLOUDFORMATION: aws.endpoints.s3,
          AWS_ENDPOINT_URL_CLOUDWATCH: aws.endpoints.s3,
        },
      });
      const started = Date.now();
      const ids = Array.from({ length: TENANTS }, (_, i) => newTenantId(`mu${String(i).padStart(2, '0')}`));
      for (let i = 0; i < ids.length; i += 10) {
        const batch = await Promise.all(
          ids.slice(i, i + 10).map(async (id) => {
            const res = await server.api('/v1/admin/tenants', {
              method: 'POST',
              token: server.operatorToken,
              body: JSON.stringify({ id, name: `Tenant ${id}`, placement: 'dedicated', plan: 'enterprise' }),
            });
            expect(res.status, await res.clone().text()).toBe(201);
            const body = (await res.json()) as { apiKey: string; operation: { id: string } };
            const op = await waitForOperation(server, body.operation.id, 300_000);
            expect(op.status, JSON.stringify(op.steps)).toBe('succeeded');
            return { id: id as TenantId, apiKey: body.apiKey };
          }),
        );
        dedicated.push(...batch);
      }
      timings.onboard = Date.now() - started;
      dedicated.sort((a, b) => (a.id < b.id ? -1 : 1));
      // The alarms each tenant stack declares (moto's CloudFormation does not make them), all OK.
      for (const t of dedicated) {
        await putTenantAlarmsOk(cloudWatch, t.id, MODELS);
      }
    }, 900_000);

    afterAll(async () => {
      console.log(`upgrade-aws-moto timings (ms, ${TENANTS} tenants): ${JSON.stringify(timings)}`);
      await server?.stop();
      cfn?.destroy();
      cloudWatch?.destroy();
      await aws?.stop();
    });

    it('rolls a release to every tenant stack in growing waves; a pinned tenant keeps its model version', async () => {
      const pinned = dedicated[Math.min(7, dedicated.length - 1)]!;
      const pin = await server.api(`/v1/admin/tenants/${pinned.id}/pins`, {
        method: 'PUT',
        token: server.operatorToken,
        body: JSON.stringify({ pins: { finance: '1.1.3' } }),
      });
      expect(pin.status).toBe(200);
      for (const t of dedicated.slice(0, 2))
        expect(await deployed(t.id)).toEqual({
          status: 'CREATE_COMPLETE',
          codeKey: 'model.zip',
          release: undefined,
        });
      await publish('r2', { version: '1.2.0', body: "version: '1.2.0'" });

      const started = Date.now();
      // No job runs while it is watched: evidence (minJobs, rollout-evidence.test.ts) is not what this is about.
      const op = await startRollout(server, 'r2', { observeSec: 0.5, minJobs: 0 });
      // The canary, then doubling batches: 1, 2, 4 and the 5 left of 12; 1, 2, 4, 8, 16 and the 19 left of 50.
      const expected: number[] = [];
      for (let left = TENANTS, size = 1; left > 0; left -= size, size *= 2)
        expected.push(Math.min(size, left));
      expect(op.waves.map((w) => w.length)).toEqual(expected);
      expect(op.waves[0]).toEqual([dedicated[0]!.id]);
      const done = (await waitForOperation(server, op.id, 600_000)) as unknown as RolloutView;
      timings.upgrade = Date.now() - started;
      expect(done.status, JSON.stringify(done.steps)).toBe('succeeded');
      expect(done.steps.every((s) => s.status === 'done')).toBe(true);

      // Recorded by the platform, and visible in each stack: the release's template and bundle.
      for (const t of dedicated) {
        expect((await tenantRecord(server, t.id)).release).toBe('r2');
        expect(await deployed(t.id)).toEqual({
          status: 'UPDATE_COMPLETE',
          codeKey: 'releases/r2/model.zip',
          release: 'r2',
        });
      }
      // Waves in order: no stack of a wave finished its update before every stack of the wave before it
      // (moto keeps no LastUpdatedTime; its stack events carry the time of each UPDATE_COMPLETE).
      const updatedAt = async (id: string) => {
        const name = tenantStackName(id as TenantId);
        const events = await cfn.send(new DescribeStackEventsCommand({ StackName: name }));
        const done = (events.StackEvents ?? []).filter(
          (e) => e.LogicalResourceId === name && e.ResourceStatus === 'UPDATE_COMPLETE',
        );
        return Math.max(0, ...done.map((e) => e.Timestamp?.getTime() ?? 0));
      };
      for (let w = 1; w < op.waves.length; w++) {
        const before = Math.max(...(await Promise.all(op.waves[w - 1]!.map(updatedAt))));
        const after = Math.min(...(await Promise.all(op.waves[w]!.map(updatedAt))));
        expect(before).toBeGreaterThan(0);
        expect(after).toBeGreaterThanOrEqual(before);
      }
      const list = (await (
        await server.api('/v1/admin/releases', { token: server.operatorToken })
      ).json()) as {
        current: string;
        items: { id: string; tenants: string[] }[];
      };
      expect(list.current).toBe('r2');
      // The pointer every function reads is the DynamoDB item, not a file in the (read-only on Lambda) folder.
      const pointer = await aws.dynamo.send(
        new GetCommand({
          TableName: platformEnv.SILOPOOL_TENANT_VIEWS_TABLE,
          Key: RELEASE_POINTER_KEY,
          ConsistentRead: true,
        }),
      );
      expect(pointer.Item?.releaseId).toBe('r2');
      expect(list.items.find((r) => r.id === 'r2')?.tenants).toEqual(
        expect.arrayContaining(dedicated.map((t) => t.id)),
      );

      // Jobs run from the updated stacks' queues: on the release, and on the pinned version for the pinned tenant.
      const other = dedicated.find((t) => t !== pinned)!;
      expect(await runFinance(other)).toMatchObject({
        status: 'succeeded',
        modelVersion: '1.2.0',
        release: 'r2',
      });
      expect(await runFinance(pinned)).toMatchObject({ status: 'succeeded', modelVersion: '1.1.3' });
    }, 900_000);

    it('halts at a canary whose model throws, puts its stack back on the previous release, and loses no job', async () => {
      await publish('r3-bad', {
        version: '1.3.0',
        body: "version: '1.3.0', run: () => { throw new Error('broken release'); }",
      });
      const canary = dedicated[Math.floor(dedicated.length / 2)]!;
      const queueUrl = async () =>
        (await aws.sqs.send(new GetQueueUrlCommand({ QueueName: `tenant_${canary.id}_finance` }))).QueueUrl;
      const queueBefore = await queueUrl();
      // Accepted before the upgrade begins: they run on r2, or on the bad code and then again on r2.
      const early = await Promise.all(
        [1, 2].map((n) => submit(server, canary.apiKey, { revenue: 1_000_000 * n })),
      );
      const op = await startRollout(server, 'r3-bad', { canary: canary.id, observeSec: 120 });
      expect(op.waves[0]).toEqual([canary.id]);
      await until(
        'the canary on r3-bad',
        async () => (await tenantRecord(server, canary.id)).release === 'r3-bad',
        60_000,
      );
      const late = await Promise.all(
        [3, 4].map((n) => submit(server, canary.apiKey, { revenue: 1_000_000 * n })),
      );
      const halted = (await waitForOperation(server, op.id, 120_000)) as unknown as RolloutView;
      expect(halted.status).toBe('failed');
      expect(halted.error?.code).toBe('rolled_back');
      expect(halted.steps[0]?.detail).toMatch(/rolled back/);
      expect(halted.steps.slice(1).every((s) => s.status === 'pending')).toBe(true);

      // The canary's stack is back on r2's template and bundle; no other stack ever saw r3-bad.
      expect(await deployed(canary.id)).toEqual({
        status: 'UPDATE_COMPLETE',
        codeKey: 'releases/r2/model.zip',
        release: 'r2',
      });
      for (const t of dedicated) {
        expect((await tenantRecord(server, t.id)).release).toBe('r2');
        expect((await deployed(t.id)).release).toBe('r2');
      }
      // The same queue throughout (an update never replaced it), every job ended once, on the previous code.
      expect(await queueUrl()).toBe(queueBefore);
      for (const job of [...early, ...late]) {
        const end = await waitForJob(server, canary.apiKey, job.id, { timeoutMs: 120_000 });
        expect(end, JSON.stringify(end)).toMatchObject({
          status: 'succeeded',
          release: 'r2',
          modelVersion: '1.2.0',
        });
      }
      const dlq = await aws.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: (
            await aws.sqs.send(new GetQueueUrlCommand({ QueueName: `tenant_${canary.id}_finance-dlq` }))
          ).QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      expect(dlq.Attributes?.ApproximateNumberOfMessages).toBe('0');
    }, 300_000);

    it('halts at a canary whose CloudWatch alarm goes into ALARM, and rolls its stack back', async () => {
      await publish('r4-alarmed', { version: '1.4.0', body: "version: '1.4.0'" });
      const canary = dedicated.at(-1)!;
      const op = await startRollout(server, 'r4-alarmed', { canary: canary.id, observeSec: 120 });
      await until(
        'the canary stack on r4-alarmed',
        async () => (await deployed(canary.id)).release === 'r4-alarmed',
        60_000,
      );
      expect(
        (
          (await server
            .api(`/v1/admin/operations/${op.id}`, { token: server.operatorToken })
            .then((r) => r.json())) as RolloutView
        ).status,
      ).toBe('running');
      const alarm = tenantAlarmNames(canary.id, MODELS).jobFailures;
      await cloudWatch.send(
        new SetAlarmStateCommand({
          AlarmName: alarm,
          StateValue: 'ALARM',
          StateReason: 'Threshold Crossed: test',
        }),
      );
      const halted = (await waitForOperation(server, op.id, 120_000)) as unknown as RolloutView;
      expect(halted.status).toBe('failed');
      expect(halted.error?.code).toBe('rolled_back');
      expect(halted.steps[0]?.detail).toContain(`alarm ${alarm} firing`);
      expect((await tenantRecord(server, canary.id)).release).toBe('r2');
      expect(await deployed(canary.id)).toMatchObject({ codeKey: 'releases/r2/model.zip', release: 'r2' });
    }, 300_000);
  },
);

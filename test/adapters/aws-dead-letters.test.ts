import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import { sweepDeadLetterQueues } from '../../src/control/dead-letter-sweep.ts';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { encodeJobMessage } from '../../src/core/messages.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import { makeTenant } from '../contract/fixtures.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { sharedJobStores } from '../support/aws-shared-stores.ts';

// The dead-letter settler as deployed on AWS (a scheduled function), on SQS and DynamoDB emulators:
// SQS moves a message that keeps failing to its DLQ by itself, with no record of it; the sweep settles the job.
let aws: AwsEmulators;
beforeAll(async () => {
  aws = await startAwsEmulators();
}, 60_000);
afterAll(() => aws?.stop());

describe('the dead-letter settler on AWS', () => {
  it('fails the job of every dead letter once, and leaves the messages for redrive', async () => {
    const { directory, jobStore, stores } = await sharedJobStores(aws);
    const queue = createSqsMessageQueue({ client: aws.sqs });
    const source = `shared_dl${randomUUID().slice(0, 8)}`;
    const dlq = deadLetterQueueName(source);
    await queue.createQueue(dlq, { visibilityTimeoutSec: 30 });
    await queue.createQueue(source, { visibilityTimeoutSec: 30, maxReceiveCount: 2, deadLetterQueue: dlq });

    const id = parseTenantId(`t-${randomUUID().slice(0, 8)}`);
    const now = new Date().toISOString();
    await directory.create(makeTenant(id, { name: 'Dies' }));
    const job = (status: JobRecord['status']): JobRecord => ({
      id: newJobId(),
      tenantId: id,
      model: 'finance',
      modelVersion: '1.0.0',
      status,
      input: {},
      effectiveInput: {},
      rules: {},
      artifacts: [],
      attempts: 2,
      cost: 5,
      priority: 2,
      createdAt: now,
      updatedAt: now,
      version: 3,
    });
    // One job crashed on every delivery (left `running`); one failed in its handler and is already settled.
    const crashed = job('running');
    const handled = { ...job('failed'), error: { code: 'retries_exhausted', message: 'boom' } };
    for (const j of [crashed, handled]) {
      await jobStore.forTenant(id).create(j);
      await queue.send(source, {
        body: encodeJobMessage({ tenantId: id, jobId: j.id, model: 'finance' }),
        groupId: id,
        cost: 5,
        priority: 2,
      });
    }
    // Two deliveries that never come back (a crash each time), then the receive that dead-letters them.
    for (let i = 0; i < 2; i++) {
      for (const m of await queue.receive(source, { maxMessages: 10 }))
        await queue.changeVisibility(source, m.receiptHandle, 0);
    }
    expect(await queue.receive(source, { maxMessages: 10 })).toEqual([]);

    const deps = { directory, stores, queue };
    const first = await sweepDeadLetterQueues(deps, { visibilityTimeoutSec: 5 });
    expect(first).toMatchObject({ seen: 2, settled: 1 });
    const settled = await jobStore.forTenant(id).get(crashed.id);
    expect(settled).toMatchObject({ status: 'failed', error: { code: 'dead_lettered' } });
    expect(settled?.error?.message).toContain(source);
    expect(await jobStore.forTenant(id).get(handled.id)).toMatchObject({
      error: { code: 'retries_exhausted' },
    });

    // The dead letters are still there, visible, as sent: a second sweep finds them and changes nothing.
    const again = await sweepDeadLetterQueues(deps, { visibilityTimeoutSec: 5 });
    expect(again).toMatchObject({ seen: 2, settled: 0 });
    expect((await jobStore.forTenant(id).get(crashed.id))?.version).toBe(settled?.version);
    const letters = await queue.receive(dlq, { maxMessages: 10 });
    expect(letters.map((m) => ({ cost: m.cost, priority: m.priority }))).toEqual([
      { cost: 5, priority: 2 },
      { cost: 5, priority: 2 },
    ]);
  });
});

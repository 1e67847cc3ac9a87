import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startQueueConsumer } from '../../src/runtime/queue-consumer.ts';
import { slotRuntime, until } from '../support/slot-runtime.ts';
import { proxiedSqsForFile } from '../support/sqs-hold-proxy.ts';

// SQS (fauxqs) behind a real proxy that holds the heartbeats' ChangeMessageVisibility calls: an endpoint that
// takes a call and never answers it. The client has no timeouts of its own, so only the heartbeat bounds them.
const sqs = proxiedSqsForFile();

/** A consumer of a new queue with a `visibilitySec` visibility, whose one job runs `jobMs`. */
async function runOneJob(visibilitySec: number, jobMs: number) {
  const name = `hb_${randomUUID().slice(0, 8)}`;
  await sqs.queue.createQueue(name, { visibilityTimeoutSec: visibilitySec });
  const errors: unknown[] = [];
  const { runtime, ran } = slotRuntime(1, jobMs);
  const consumer = startQueueConsumer({
    queue: name,
    runtime,
    messages: sqs.queue,
    visibilityTimeoutSec: visibilitySec,
    batchSize: 1,
    onError: (error) => errors.push(error),
  });
  await sqs.queue.send(name, { body: 'one' });
  await until('the job ran', () => ran.length === 1);
  await until('its message was deleted', () =>
    sqs.proxy.forwarded.some((f) => f.action === 'DeleteMessage' && String(f.body.QueueUrl).endsWith(name)),
  );
  await consumer.stop();
  return { name, errors };
}

/** The actions the proxy passed on for queue `name`, in order. */
const actionsOf = (name: string) =>
  sqs.proxy.forwarded.filter((f) => String(f.body.QueueUrl).endsWith(`/${name}`)).map((f) => f.action);

describe('visibility heartbeats against an SQS endpoint that holds them', () => {
  it('one that never answers is reported late and abandoned, and never piled on at the next beats', async () => {
    // Visibility 2 s: a beat every 667 ms, the job runs 3 s, so four or more beats would have been sent.
    sqs.proxy.hold((body) => body.VisibilityTimeout === 2);
    const { errors } = await runOneJob(2, 3000);
    // On the old consumer each beat sent another call beside the hung ones (four waiting at once), and
    // nothing was reported: the message could reappear while its job ran, with no sign of why.
    expect(sqs.proxy.mostWaiting()).toBe(1);
    expect(errors.some((e) => (e as { code?: string }).code === 'heartbeat_late')).toBe(true);
    // Abandoned through its signal: the proxy saw the client close the call, so it cannot land later.
    await until('the late call closed', () => sqs.proxy.abandoned() > 0, 3000);
    await until('no call left waiting', () => sqs.proxy.waiting() === 0, 3000);
  }, 30_000);

  it('an extension in flight when the job ends never lands after its message is settled', async () => {
    // Visibility 3 s: the first beat is sent a second in and is late at 1.5 s; the job ends at 1.25 s, with that
    // beat unanswered and not yet given up: only its release before the delete abandons it.
    sqs.proxy.hold((body) => body.VisibilityTimeout === 3);
    const abandonedBefore = sqs.proxy.abandoned();
    const { name } = await runOneJob(3, 1250);
    // An abandoned call's client closes it a moment after the abort; one still waiting (the old consumer's)
    // goes to SQS now, as a slow endpoint would have answered it late.
    await until('abandoned calls closed', () => sqs.proxy.waiting() === 0, 3000).catch(() => undefined);
    await sqs.proxy.releaseHeld();
    const actions = actionsOf(name);
    const deleted = actions.indexOf('DeleteMessage');
    // On the old consumer the held beat reached SQS after the delete (or, after a give-back or a retry's
    // short delay, hid the message a whole visibility timeout more).
    expect(deleted).toBeGreaterThan(-1);
    expect(actions.slice(deleted)).not.toContain('ChangeMessageVisibility');
    expect(sqs.proxy.abandoned()).toBeGreaterThan(abandonedBefore);
  }, 30_000);
});

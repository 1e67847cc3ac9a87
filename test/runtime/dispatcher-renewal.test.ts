import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DeliveryDeadlineError } from '../../src/functions/delivery-deadline.ts';
import { createWebhookEndpoints } from '../../src/functions/webhook-endpoints.ts';
import { startQueueDispatcher } from '../../src/runtime/queue-dispatcher.ts';
import { until } from '../support/slot-runtime.ts';
import { proxiedSqsForFile } from '../support/sqs-hold-proxy.ts';

// The dispatchers renew a message that waited a second or more for its endpoint's slot (queue-dispatcher.ts).
// Here the renewal goes to SQS (fauxqs) through a proxy that holds it: an endpoint that never answers.
const sqs = proxiedSqsForFile();

describe("a dispatcher's renewal that never answers", () => {
  it('is aborted when the handling is abandoned at the visibility, and never lands after it', async () => {
    const name = `disp_${randomUUID().slice(0, 8)}`;
    await sqs.queue.createQueue(name, { visibilityTimeoutSec: 2 });
    let holding = true;
    // Only the renewal (the first visibility change of this queue) is held.
    sqs.proxy.hold((body) => {
      const pick = holding && String(body.QueueUrl).endsWith(`/${name}`) && body.VisibilityTimeout === 2;
      if (pick) holding = false;
      return pick;
    });
    const abandonedBefore = sqs.proxy.abandoned();
    const errors: unknown[] = [];
    let deliveries = 0;
    const dispatcher = startQueueDispatcher({
      queue: sqs.queue,
      queueName: name,
      // One delivery at a time to the key: the other message waits 1.6 s for the first's slot, then renews.
      endpoints: createWebhookEndpoints({ limits: { maxInFlight: 1 } }),
      concurrency: 2,
      visibilitySec: 2,
      drainMs: 100,
      onError: (error) => errors.push(error),
      handle: (_m, underCircuit) =>
        underCircuit('one-endpoint', async () => {
          if (deliveries++ === 0) await new Promise((r) => setTimeout(r, 1600));
        }),
    });
    try {
      await sqs.queue.sendBatch(name, [{ body: 'first' }, { body: 'second' }]);
      await until('the waiting one was abandoned', () =>
        errors.some((e) => e instanceof DeliveryDeadlineError),
      );
      // On the old dispatcher the renewal stayed pending, to reach SQS whenever it was answered.
      await until('the renewal was abandoned', () => sqs.proxy.abandoned() > abandonedBefore, 5000);
    } finally {
      await dispatcher.stop();
    }
    expect(await sqs.proxy.releaseHeld()).toBe(0);
  }, 30_000);
});

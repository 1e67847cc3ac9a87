import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import type { HeldMessage } from '../../src/runtime/function-runtime.ts';
import { createFunctionThreads } from '../../src/runtime/worker-pool.ts';
import { proxiedSqsForFile } from '../support/sqs-hold-proxy.ts';
import { setThreadStandIn, standInThreadSettings } from './stand-in.ts';

// The host extends what its function threads hold (worker-pool.ts); a thread tells it before it settles a
// message (`settling`) and, after a long run, waits for `released`. Here the host's queue is SQS (fauxqs)
// behind a proxy that holds the extensions, and the thread a stand-in speaking the protocol (stand-in.ts).
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltStartingStandInThreads(original),
);

const sqs = proxiedSqsForFile();

/** Ready; reports it started `message`, runs `ms`, asks to settle it and, once released, reports it finished. */
const settlesAfter = (
  message: HeldMessage,
  ms: number,
) => `const { parentPort } = require('node:worker_threads');
const finished = [{ type: 'finished', queue: ${JSON.stringify(message.queue)}, receiptHandle: ${JSON.stringify(message.receiptHandle)} }];
parentPort.on('message', (r) => {
  if (r.type === 'stop') parentPort.postMessage([{ type: 'stopped' }]);
  if (r.type === 'ping') parentPort.postMessage([{ type: 'alive' }]);
  if (r.type === 'released' && r.id === 7) parentPort.postMessage(finished);
});
parentPort.postMessage([{ type: 'ready' }]);
setTimeout(() => parentPort.postMessage([{ type: 'started', message: ${JSON.stringify(message)} }]), 20);
setTimeout(() => parentPort.postMessage([{ type: 'settling', receiptHandle: ${JSON.stringify(message.receiptHandle)}, ack: 7 }]), 20 + ${ms});`;

describe('a function thread settling a message the host is extending', () => {
  it('is answered once the extension in flight is abandoned, and the message is extended no more', async () => {
    const name = `thb_${randomUUID().slice(0, 8)}`;
    await sqs.queue.createQueue(name, { visibilityTimeoutSec: 3 });
    await sqs.queue.send(name, { body: '{"not":"a job"}' });
    const [m] = await sqs.queue.receive(name, { maxMessages: 1, visibilityTimeoutSec: 3 });
    const message: HeldMessage = {
      queue: name,
      receiptHandle: m!.receiptHandle,
      body: m!.body,
      receiveCount: m!.receiveCount,
    };
    // A beat every second (visibility 3 s): the first is sent and held before the run ends at 1.7 s.
    sqs.proxy.hold((body) => body.VisibilityTimeout === 3);
    const abandonedBefore = sqs.proxy.abandoned();
    setThreadStandIn(settlesAfter(message, 1700));
    const errors: unknown[] = [];
    const threads = createFunctionThreads({
      size: 1,
      messages: sqs.queue,
      settings: { ...standInThreadSettings(), visibilityTimeoutSec: 3 },
      onError: (error) => errors.push(error),
    });
    try {
      await vi.waitFor(() => expect(threads.held()).toHaveLength(1), { timeout: 5000 });
      // On the old host `settling` was unknown: the thread was never released, its message extended for good.
      await vi.waitFor(() => expect(threads.held()).toHaveLength(0), { timeout: 5000 });
      // The held extension's client closed it (the proxy hears that a moment after the abort).
      await vi.waitFor(() => expect(sqs.proxy.abandoned()).toBeGreaterThan(abandonedBefore), {
        timeout: 3000,
      });
      const settledAt = sqs.proxy.forwarded.length;
      await new Promise((r) => setTimeout(r, 1500));
      await sqs.proxy.releaseHeld();
      const later = sqs.proxy.forwarded
        .slice(settledAt)
        .filter((f) => f.action === 'ChangeMessageVisibility' && String(f.body.QueueUrl).endsWith(name));
      expect(later).toEqual([]);
    } finally {
      await threads.close(Date.now());
    }
  }, 30_000);
});

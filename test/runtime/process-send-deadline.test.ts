import { describe, expect, it, vi } from 'vitest';
import { SendDeadlineError } from '../../src/runtime/process-requests.ts';
import { setStandIn } from './stand-in.ts';
import { standInRuntime } from './stand-in-runtime.ts';

// A send a dedicated function process asks its host for (a job's announcement) had no deadline of its own:
// a queue write that never answered held the process's job until the function's timeout (300 s by default).
// A real process (a stand-in speaking the child protocol) asks for one send per event and answers the event
// with what its host answered the send (the error as a failed item).
vi.mock('../../src/runtime/prebuilt.ts', async (original) =>
  (await import('./stand-in.ts')).prebuiltForkingStandIn(original),
);
setStandIn(
  `const events = new Map();
   process.on('message', (m) => {
     if (m.type === 'invoke') {
       events.set(m.id, m.id);
       process.send({ type: 'send', id: m.id, queue: 'webhooks', message: { body: 'announce' } });
     }
     if (m.type === 'sent') {
       process.send({ type: 'result', id: events.get(m.id),
         response: { batchItemFailures: m.error ? [{ itemIdentifier: m.error }] : [] } });
     }
   });
   process.send({ type: 'ready' });`,
);

describe('a send a function process asks for, which its host cannot finish', () => {
  it('is answered to the process with a clear error at its deadline', async () => {
    const errors: unknown[] = [];
    const runtime = standInRuntime({
      // A queue write that never answers.
      send: () => new Promise<never>(() => undefined),
      sendTimeoutMs: 300,
      onError: (error) => errors.push(error),
    });
    // Before: the event waited for the send's answer until the function's timeout.
    const response = await runtime.invoke({ Records: [] });
    expect(response.batchItemFailures).toEqual([
      {
        itemIdentifier:
          'SendDeadlineError: The send to webhooks that the function tenant_t_finance asked for did not finish within 0.3 s; answered with this error (the job is retried with its message).',
      },
    ]);
    expect(errors.some((e) => e instanceof SendDeadlineError)).toBe(true);
    await runtime.close();
  }, 30_000);
});

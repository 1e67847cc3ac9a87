import { parentPort, workerData } from 'node:worker_threads';
import { getModel } from '../src/models/registry.ts';
import { resolveInput } from '../src/models/rules.ts';

// The baseline of the end-to-end bench: the same model and renderer in a plain loop, no platform.
// It warms up first and times only the measured loops, as the platform side is measured warm too.
const { warmup, input } = workerData as { warmup: number; input: unknown };
const model = getModel('finance');
async function once(): Promise<void> {
  const { effectiveInput } = resolveInput(model, {}, input);
  const result = model.run(effectiveInput as never, {});
  model.summary(result, {});
  await model.workbook(result, effectiveInput as never, {});
}
for (let i = 0; i < warmup; i++) await once();
// Warm. Each message `{ count }` runs that many jobs and answers the milliseconds they took: the timed loops
// of every thread start together, so the process's CPU time between the messages and the last answer is
// the loops' alone (bench/e2e.ts runs them in rounds, alternating with the platform).
parentPort!.on('message', async ({ count }: { count: number }) => {
  const started = performance.now();
  for (let i = 0; i < count; i++) await once();
  parentPort!.postMessage(performance.now() - started);
});
parentPort!.postMessage('warm');

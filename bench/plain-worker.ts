import { parentPort, workerData } from 'node:worker_threads';
import { getModel } from '../src/models/registry.ts';
import { resolveInput } from '../src/models/rules.ts';

// The baseline of the end-to-end bench: the same model and renderer in a plain loop, no platform.
// It warms up first and times only the measured loop, as the platform side is measured warm too.
const { count, warmup, input } = workerData as { count: number; warmup: number; input: unknown };
const model = getModel('finance');
async function once(): Promise<void> {
  const { effectiveInput } = resolveInput(model, {}, input);
  const result = model.run(effectiveInput as never, {});
  model.summary(result, {});
  await model.workbook(result, effectiveInput as never, {});
}
for (let i = 0; i < warmup; i++) await once();
// Warm: the timed loops of every thread start together, so the process's CPU time between 'go' and the
// last answer is the loops' alone.
parentPort!.postMessage('warm');
await new Promise((resolve) => parentPort!.once('message', resolve));
const started = performance.now();
for (let i = 0; i < count; i++) await once();
parentPort!.postMessage(performance.now() - started);

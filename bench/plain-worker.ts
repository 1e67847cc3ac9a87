import { parentPort, workerData } from 'node:worker_threads';
import { getModel } from '../src/models/registry.ts';
import { resolveInput } from '../src/models/rules.ts';

// The baseline of the end-to-end bench: the same model and renderer in a plain loop, no platform.
const { count, input } = workerData as { count: number; input: unknown };
const model = getModel('finance')!;
for (let i = 0; i < count; i++) {
  const { effectiveInput } = resolveInput(model, {}, input);
  const result = model.run(effectiveInput as never, {});
  model.summary(result, {});
  await model.workbook(result, effectiveInput as never, {});
}
parentPort!.postMessage('done');

// A plain-loop thread of bench/warmup-curve.ts: the finance model and renderer, a chunk of jobs per 'go'.
import { parentPort, workerData } from 'node:worker_threads';
import { getModel } from '../src/models/registry.ts';
import { resolveInput } from '../src/models/rules.ts';

const { count, input } = workerData as { count: number; input: unknown };
const model = getModel('finance');
async function once() {
  const { effectiveInput } = resolveInput(model, {}, input);
  const r = model.run(effectiveInput as never, {});
  model.summary(r, {});
  await model.workbook(r, effectiveInput as never, {});
}
parentPort!.on('message', async () => {
  for (let i = 0; i < count; i++) await once();
  parentPort!.postMessage('done');
});
parentPort!.postMessage('ready');

import { parentPort, workerData } from 'node:worker_threads';
import { createModelHandler, type HandlerDeps } from '../functions/model-handler.ts';
import type { FunctionReport, FunctionRequest, HandlerFactorySpec } from './function-runtime.ts';

// One worker thread of the shared function pool: the same handler Lambda runs, fed by the host.
const { factory: spec, cores } = workerData as { factory: HandlerFactorySpec; cores: number };
const port = parentPort!;
const post = (report: FunctionReport) => port.postMessage(report);

const factory = (await import(spec.module)) as {
  createHandlerDeps(options: Record<string, unknown>): Promise<HandlerDeps>;
};
const deps = await factory.createHandlerDeps(spec.options);

// Big runs are split by the model and their parts run in the host's compute pool.
let nextCompute = 1;
const computing = new Map<number, { resolve(results: unknown[]): void; reject(error: Error): void }>();
const runParts = (model: string, input: unknown, parts: unknown[]) =>
  new Promise<unknown[]>((resolve, reject) => {
    const id = nextCompute++;
    computing.set(id, { resolve, reject });
    post({ type: 'compute', id, model, input, parts });
  });

const handler = createModelHandler({
  ...deps,
  notify: (job) => post({ type: 'job', job }),
  ...(cores > 1 ? { parallel: { cores, runParts } } : {}),
});

port.on('message', (request: FunctionRequest) => {
  if (request.type === 'computed') {
    const call = computing.get(request.id);
    computing.delete(request.id);
    if (request.results) call?.resolve(request.results);
    else call?.reject(new Error(request.error ?? 'compute failed'));
    return;
  }
  handler(request.event).then(
    (response) => post({ type: 'result', id: request.id, response }),
    (error: unknown) => post({ type: 'error', id: request.id, message: String(error) }),
  );
});
post({ type: 'ready' });

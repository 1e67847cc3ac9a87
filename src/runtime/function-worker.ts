import { parentPort, workerData } from 'node:worker_threads';
import { createModelHandler, type HandlerDeps } from '../functions/model-handler.ts';
import type { FunctionReport, FunctionRequest, HandlerFactorySpec } from './function-runtime.ts';

// One worker thread of the shared function pool: the same handler Lambda runs, fed by the host.
const spec = (workerData as { factory: HandlerFactorySpec }).factory;
const port = parentPort!;
const post = (report: FunctionReport) => port.postMessage(report);

const factory = (await import(spec.module)) as {
  createHandlerDeps(options: Record<string, unknown>): Promise<HandlerDeps>;
};
const deps = await factory.createHandlerDeps(spec.options);
const handler = createModelHandler({ ...deps, notify: (job) => post({ type: 'job', job }) });

port.on('message', (request: FunctionRequest) => {
  handler(request.event).then(
    (response) => post({ type: 'result', id: request.id, response }),
    (error: unknown) => post({ type: 'error', id: request.id, message: String(error) }),
  );
});
post({ type: 'ready' });

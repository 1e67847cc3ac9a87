import { workerData } from 'node:worker_threads';
import type { FunctionThreadSettings } from './function-runtime.ts';
import { type CreateHandlerDeps, runFunctionThread } from './function-thread.ts';

// A function thread on TypeScript sources (through tsx), for any factory: the module the settings name
// builds its handler's dependencies. The embedded platform's threads start from a prebuilt bundle instead
// where there is one (src/entry/function-thread-embedded.ts).
const { factory } = workerData as FunctionThreadSettings;
const { createHandlerDeps } = (await import(factory.module)) as { createHandlerDeps: CreateHandlerDeps };
await runFunctionThread(createHandlerDeps);

import { runFunctionThread } from '../runtime/function-thread.ts';
import { createHandlerDeps } from './embedded-wiring.ts';

// A shared function thread of the embedded platform, with its factory built in: the entry of the prebuilt
// bundle (src/runtime/prebuilt.ts) the worker pool starts, so a thread compiles no TypeScript when it
// starts (a fresh server's first job, a thread replaced after a crash or a time limit). A failure to start
// is the thread's `error` event, as on the TypeScript path.
runFunctionThread(createHandlerDeps).then(
  () => undefined,
  (error: unknown) => {
    throw error;
  },
);

// Loaded with `--import` by exec-argv.test.ts's parent: in a worker thread, records which flags the thread got
// and whether tsx's loader ran before it (tsx turns source maps on in the thread it loads in).
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

if (!isMainThread && process.env.SILOPOOL_THREAD_PROBE)
  appendFileSync(
    process.env.SILOPOOL_THREAD_PROBE,
    `${JSON.stringify({ execArgv: process.execArgv, sourceMaps: process.sourceMapsEnabled })}\n`,
  );

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrebuiltWorker } from '../../src/runtime/prebuilt.ts';

// Run by exec-argv.test.ts under `node --max-old-space-size=… --import tsx --import thread-probe.mjs`: starts
// a move step's thread from its bundle and prints what the probe saw in that thread.
const dir = mkdtempSync(join(tmpdir(), 'silopool-thread-flags-'));
const probe = join(dir, 'probe.jsonl');
process.env.SILOPOOL_THREAD_PROBE = probe;
const worker = startPrebuiltWorker(
  'move-worker',
  { relative: '../../src/entry/move-worker', base: import.meta.url },
  {
    workerData: { dataDir: dir, tenantId: 'flags-probe', source: { kind: 'shared' }, step: 'remove-shared' },
  },
);
worker.on('error', () => undefined);
for (let i = 0; i < 200 && !existsSync(probe); i++) await new Promise((r) => setTimeout(r, 25));
await worker.terminate();
console.log(existsSync(probe) ? readFileSync(probe, 'utf8').trim() : 'null');

import type { MoveDataSteps } from '../control/placement-move.ts';
import { startPrebuiltWorker } from '../runtime/prebuilt.ts';
import type { MoveWorkerReport, MoveWorkerRequest } from './move-worker.ts';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A move's copy, verify and shared-store removal steps run in a worker thread (src/entry/move-worker.ts) per step, so the API's
 * event loop never waits on them; progress comes back as messages. Embedded only: the worker opens the
 * same DATA_DIR files. Throws the worker's error (the step then fails and is retried like any other).
 */
export function moveDataInWorker(dataDir: string): MoveDataSteps {
  const run = (
    request: DistributiveOmit<MoveWorkerRequest, 'dataDir'>,
    report?: (d: string, f?: number) => Promise<void>,
  ) =>
    new Promise<MoveWorkerReport>((resolve, reject) => {
      const workerData = { ...request, dataDir } as MoveWorkerRequest;
      // The prebuilt bundle where there is one: a step's thread then compiles no TypeScript first.
      const worker = startPrebuiltWorker(
        'move-worker',
        { relative: './move-worker', base: import.meta.url },
        { workerData },
      );
      let settled: MoveWorkerReport | undefined;
      let progress: Promise<void> = Promise.resolve();
      worker.on('message', (message: MoveWorkerReport) => {
        if (message.type === 'progress') {
          // Reports are persisted in order, one at a time; a failed one does not stop the copy.
          progress = progress.then(() => report?.(message.detail, message.fraction)).catch(() => undefined);
        } else settled = message;
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        progress.then(() => {
          if (!settled) reject(new Error(`The move worker exited with code ${code} before it answered.`));
          else if (settled.type === 'error') reject(new Error(settled.message));
          else resolve(settled);
        });
      });
    });
  return {
    async copy(tenantId, source, target, report) {
      const done = await run({ step: 'copy', tenantId, source, target }, report);
      return done.type === 'copied' ? done.summary : '';
    },
    async verify(tenantId, source, target) {
      const done = await run({ step: 'verify', tenantId, source, target });
      return done.type === 'verified'
        ? { problems: done.problems, detail: done.detail }
        : { problems: ['no answer'], detail: '' };
    },
    async removeShared(tenantId, source) {
      const done = await run({ step: 'remove-shared', tenantId, source });
      return done.type === 'removed' ? done.summary : '';
    },
  };
}

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
    signal?: AbortSignal,
  ) =>
    new Promise<MoveWorkerReport>((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('The move step was stopped before it started.'));
      const workerData = { ...request, dataDir } as MoveWorkerRequest;
      // The prebuilt bundle where there is one: a step's thread then compiles no TypeScript first.
      const worker = startPrebuiltWorker(
        'move-worker',
        { relative: './move-worker', base: import.meta.url },
        { workerData },
      );
      let settled: MoveWorkerReport | undefined;
      // A stop (the server shutting down) ends the step's thread at once: the step is idempotent and runs
      // again when the move resumes, instead of holding the server's stop for a whole copy.
      const onAbort = () => {
        settled = { type: 'error', message: 'The move step was stopped.' };
        void worker.terminate();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let progress: Promise<void> = Promise.resolve();
      worker.on('message', (message: MoveWorkerReport) => {
        if (message.type === 'progress') {
          // Reports are persisted in order, one at a time; a failed one does not stop the copy.
          progress = progress.then(() => report?.(message.detail, message.fraction)).catch(() => undefined);
        } else settled = message;
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        signal?.removeEventListener('abort', onAbort);
        progress.then(() => {
          if (!settled) reject(new Error(`The move worker exited with code ${code} before it answered.`));
          else if (settled.type === 'error') reject(new Error(settled.message));
          else resolve(settled);
        });
      });
    });
  return {
    async copy(tenantId, source, target, report, signal) {
      const done = await run({ step: 'copy', tenantId, source, target }, report, signal);
      return done.type === 'copied' ? done.summary : '';
    },
    async verify(tenantId, source, target, signal) {
      const done = await run({ step: 'verify', tenantId, source, target }, undefined, signal);
      return done.type === 'verified'
        ? { problems: done.problems, detail: done.detail }
        : { problems: ['no answer'], detail: '' };
    },
    async removeShared(tenantId, source, signal) {
      const done = await run({ step: 'remove-shared', tenantId, source }, undefined, signal);
      return done.type === 'removed' ? done.summary : '';
    },
  };
}

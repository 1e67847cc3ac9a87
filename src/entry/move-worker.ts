import { parentPort, workerData } from 'node:worker_threads';
import { createEmbeddedTenantEraser } from '../adapters/embedded/operation-store.ts';
import { copyAll, removeSharedData, verify } from '../control/move-data.ts';
import type { TenantId } from '../core/ids.ts';
import type { StoreRef } from '../core/placement.ts';
import { openEmbeddedPlatform } from './embedded-wiring.ts';

/** What the server asks of a move-data worker: one step of one move. */
export type MoveWorkerRequest = { dataDir: string; tenantId: TenantId; source: StoreRef } & (
  | { step: 'copy' | 'verify'; target: StoreRef }
  | { step: 'remove-shared' }
);

export type MoveWorkerReport =
  | { type: 'progress'; detail: string; fraction?: number }
  | { type: 'copied'; summary: string }
  | { type: 'verified'; problems: string[]; detail: string }
  | { type: 'removed'; summary: string }
  | { type: 'error'; message: string };

// A move's copy and verification, on a thread of its own with its own SQLite connections: reading,
// writing and hashing every record and artifact of a tenant blocks whatever thread does it (better-sqlite3
// is synchronous), and on the server's event loop that was every API request's wait.
// One function, not top-level await: the prebuilt bundle of this entry is CommonJS (src/runtime/prebuilt.ts).
async function runStep(): Promise<void> {
  const request = workerData as MoveWorkerRequest;
  const post = (report: MoveWorkerReport) => parentPort!.postMessage(report);
  const platform = openEmbeddedPlatform(request.dataDir);
  const deps = {
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    usage: platform.usage,
    eraser: createEmbeddedTenantEraser(platform.db, request.dataDir, platform.jobsDb),
  };
  try {
    if (request.step === 'copy') {
      const summary = await copyAll(
        deps,
        request.tenantId,
        request.source,
        request.target,
        async (detail, fraction) =>
          post({ type: 'progress', detail, ...(fraction !== undefined ? { fraction } : {}) }),
      );
      post({ type: 'copied', summary });
    } else if (request.step === 'verify') {
      post({ type: 'verified', ...(await verify(deps, request.tenantId, request.source, request.target)) });
    } else {
      post({ type: 'removed', summary: await removeSharedData(deps, request.tenantId, request.source) });
    }
  } catch (error) {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  } finally {
    await platform.close();
  }
}

void runStep();

import { join } from 'node:path';
import { openExistingDatabase } from '../adapters/embedded/database.ts';
import { createSqliteJobStore } from '../adapters/embedded/job-store.ts';
import { createFileObjectStore } from '../adapters/embedded/object-store.ts';
import { createFileReleasePointer } from '../adapters/embedded/release-pointer.ts';
import { createSqliteObjectStore } from '../adapters/embedded/sqlite-object-store.ts';
import { StoreNotFoundError } from '../core/errors.ts';
import { openReleaseCatalog } from '../models/release-catalog.ts';
import { type FunctionProcessOptions, runFunctionProcess } from '../runtime/function-process.ts';

// The main of one dedicated (tenant, model) function process of the embedded platform, forked by
// src/runtime/process-runtime.ts (as the prebuilt bundle of src/runtime/prebuilt.ts where there is one): the
// embedded adapters it runs on, wired here, the entry layer's job; the process itself is the runtime's.
runFunctionProcess({
  openStore(options: FunctionProcessOptions) {
    // The child inherits SILOPOOL_DURABILITY from the server, so it writes with the same guarantees.
    const power = process.env.SILOPOOL_DURABILITY === 'power';
    const db =
      openExistingDatabase(join(options.storeDir, 'jobs.sqlite'), {
        synchronous: power ? 'FULL' : 'NORMAL',
      }) ?? missingStore(options);
    return {
      jobs: createSqliteJobStore(db),
      objects: createSqliteObjectStore(
        () => db,
        createFileObjectStore(join(options.storeDir, 'objects'), {
          fsync: power,
          blockingIo: true,
          rootMissing: () => new StoreNotFoundError(options.tenantId),
        }),
      ),
      close: () => db.close(),
    };
  },
  openReleases: (dir) => openReleaseCatalog(dir, createFileReleasePointer(dir)),
});

function missingStore(options: FunctionProcessOptions): never {
  throw new StoreNotFoundError(options.tenantId);
}

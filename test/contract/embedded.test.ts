import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createFileObjectStore,
  createSqliteJobStore,
  createSqliteMessageQueue,
  createSqliteTenantDirectory,
  createSqliteUsageLedger,
  openDatabase,
} from '../../src/adapters/embedded/index.ts';
import { createSqliteJobIntake } from '../../src/adapters/embedded/job-intake.ts';
import { createFileReleasePointer } from '../../src/adapters/embedded/release-pointer.ts';
import { createSqliteObjectStore } from '../../src/adapters/embedded/sqlite-object-store.ts';
import { createEmbeddedStoreProvider } from '../../src/adapters/embedded/store-provider.ts';
import { createSequencedJobIntake } from '../../src/ports/job-intake-sequence.ts';
import { describeJobIntakeContract } from './job-intake.contract.ts';
import { describeJobStoreContract } from './job-store.contract.ts';
import { describeMessageQueueContract } from './message-queue.contract.ts';
import { describeObjectStoreContract } from './object-store.contract.ts';
import { describeReleasePointerContract, NOT_JSON } from './release-pointer.contract.ts';
import { describeTenantDirectoryContract } from './tenant-directory.contract.ts';
import { describeUsageLedgerContract } from './usage-ledger.contract.ts';

/** A fresh temp dir and SQLite file per test: no state shared between tests. */
function tempDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-contract-'));
  const db = openDatabase(join(dir, 'silopool.db'));
  return {
    dir,
    db,
    async teardown() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeMessageQueueContract('embedded (SQLite)', async () => {
  const { db, teardown } = tempDatabase();
  const port = createSqliteMessageQueue(db);
  return {
    port,
    teardown,
    dedup: true,
    exactDeadLetterTiming: true,
    orderedGroups: true,
    fairness: true,
    depthByGroup: true,
    atomicBatch: true,
    setGroupWeight: (queue, group, weight) => port.setGroupWeight(queue, group, weight),
  };
});

describeJobStoreContract('embedded (SQLite)', async () => {
  const { db, teardown } = tempDatabase();
  return { port: createSqliteJobStore(db), teardown };
});

describeTenantDirectoryContract('embedded (SQLite)', async () => {
  const { db, teardown } = tempDatabase();
  return { port: createSqliteTenantDirectory(db), teardown };
});

for (const blockingIo of [false, true]) {
  // Blocking file calls are what function threads use: the same contract, the same errors.
  describeObjectStoreContract(`embedded (files${blockingIo ? ', blocking calls' : ''})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-objects-'));
    return {
      port: createFileObjectStore(dir, { blockingIo }),
      async teardown() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}

// The embedded default: rows of a job database up to 1 MiB, files beyond; with a limit of 8 bytes the same
// contract runs across both ways at once (a list pages through rows and files merged in key order).
for (const maxRowBytes of [undefined, 8]) {
  describeObjectStoreContract(
    `embedded (SQLite rows${maxRowBytes ? ' and files over 8 bytes' : ''})`,
    async () => {
      const { dir, db, teardown } = tempDatabase();
      const files = createFileObjectStore(join(dir, 'objects'), { blockingIo: true });
      return {
        port: createSqliteObjectStore(() => db, files, maxRowBytes ? { maxRowBytes } : {}),
        teardown,
      };
    },
  );
}

/** The embedded default: jobs in their own file, queues in another, as `openEmbeddedPlatform` lays them out. */
function embeddedIntakeParts() {
  const { dir, db, teardown } = tempDatabase();
  const jobsDb = openDatabase(join(dir, 'jobs.sqlite'));
  const stores = createEmbeddedStoreProvider(dir, jobsDb);
  const queue = createSqliteMessageQueue(db);
  return {
    stores,
    queue,
    jobsOf: (tenantId: Parameters<ReturnType<typeof stores.jobs>['forTenant']>[0]) =>
      stores.jobs({ kind: 'shared' }).forTenant(tenantId),
    async teardown() {
      await stores.close();
      jobsDb.close();
      await teardown();
    },
  };
}

describeJobIntakeContract('embedded (one SQLite commit, outbox, group commit)', async () => {
  const parts = embeddedIntakeParts();
  const intake = createSqliteJobIntake(parts);
  return {
    ...parts,
    intake,
    async teardown() {
      intake.close();
      await parts.teardown();
    },
  };
});

describeJobIntakeContract('the sequence over embedded stores (used during moves)', async () => {
  const parts = embeddedIntakeParts();
  return { ...parts, intake: createSequencedJobIntake(parts) };
});

describeUsageLedgerContract(
  'embedded (SQLite, same database as the jobs)',
  async () => {
    const { db, teardown } = tempDatabase();
    const port = createSqliteUsageLedger(db);
    return { port, jobs: createSqliteJobStore(db, { usage: port }), teardown };
  },
  { separateWrites: false },
);

describeUsageLedgerContract(
  'embedded (SQLite, a dedicated database beside the ledger)',
  async () => {
    const ledger = tempDatabase();
    const dedicated = tempDatabase();
    const port = createSqliteUsageLedger(ledger.db);
    return {
      port,
      jobs: createSqliteJobStore(dedicated.db, { usage: port }),
      meteringInto: (usage) => createSqliteJobStore(dedicated.db, { usage }),
      async teardown() {
        await dedicated.teardown();
        await ledger.teardown();
      },
    };
  },
  { separateWrites: true },
);

describeReleasePointerContract('embedded (current.json in the releases folder)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-pointer-'));
  return {
    open: () => createFileReleasePointer(dir),
    async damage(value) {
      writeFileSync(
        join(dir, 'current.json'),
        value === NOT_JSON ? '{"id": "r-1"' : JSON.stringify({ id: value }),
      );
      return 'current.json';
    },
    async teardown() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

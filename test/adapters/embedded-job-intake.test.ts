import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteJobIntake } from '../../src/adapters/embedded/job-intake.ts';
import {
  createSqliteMessageQueue,
  type SqliteMessageQueue,
} from '../../src/adapters/embedded/message-queue.ts';
import {
  createEmbeddedStoreProvider,
  type EmbeddedStoreProvider,
} from '../../src/adapters/embedded/store-provider.ts';
import type { StoreRef } from '../../src/core/placement.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import type { JobSubmission } from '../../src/ports/job-intake.ts';
import { makeJob, makeTenant, randomName, randomTenantId } from '../contract/fixtures.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function parts() {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-intake-'));
  const db = openDatabase(join(dir, 'silopool.sqlite'));
  const jobsDb = openDatabase(join(dir, 'jobs.sqlite'));
  const stores = createEmbeddedStoreProvider(dir, jobsDb);
  const queue = createSqliteMessageQueue(db);
  cleanups.push(async () => {
    await stores.close();
    jobsDb.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, jobsDb, stores, queue };
}

function submission(job: ReturnType<typeof makeJob>, queue: string, key?: string): JobSubmission {
  return {
    job,
    ...(key ? { idempotency: { key, requestHash: 'h', jobId: job.id, createdAt: job.createdAt } } : {}),
    queue,
    message: { body: job.id, groupId: job.tenantId, dedupId: job.id },
  };
}

/** The stores with each database's outer (IMMEDIATE) transactions counted: one per commit. */
function countingCommits(stores: EmbeddedStoreProvider) {
  const counts = { commits: 0 };
  const proxies = new Map<SqliteDatabase, SqliteDatabase>();
  const wrap = (db: SqliteDatabase): SqliteDatabase => {
    let proxy = proxies.get(db);
    if (!proxy) {
      proxy = new Proxy(db, {
        get(target, prop) {
          if (prop === 'transaction') {
            return (fn: (...args: never[]) => unknown) => {
              const tx = target.transaction(fn);
              return Object.assign((...args: never[]) => tx(...args), {
                immediate: (...args: never[]) => {
                  counts.commits++;
                  return tx.immediate(...args);
                },
              });
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      proxies.set(db, proxy);
    }
    return proxy;
  };
  return { counts, stores: { ...stores, database: (ref: StoreRef) => wrap(stores.database(ref)) } };
}

async function bodiesOn(queue: SqliteMessageQueue, lane: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const got = await queue.receive(lane, { maxMessages: 10, waitTimeSec: 0.3 });
    if (got.length === 0) return bodies.sort();
    for (const m of got) {
      bodies.push(m.body);
      await queue.delete(lane, m.receiptHandle);
    }
  }
}

describe('the embedded submit: one commit for the job, its key and its message', () => {
  it('a job whose message cannot be written is not written either, nor its key', async () => {
    const { jobsDb, stores, queue } = parts();
    const intake = createSqliteJobIntake({ stores, queue });
    cleanups.push(() => intake.close());
    const tenant = makeTenant(randomTenantId());
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    jobsDb.exec(
      "CREATE TEMP TRIGGER refuse_outbox BEFORE INSERT ON main.job_outbox BEGIN SELECT RAISE(ABORT, 'outbox refused'); END",
    );
    const job = makeJob(tenant.id);
    await expect(intake.submit(tenant, submission(job, lane, 'k-atomic'))).rejects.toThrow('outbox refused');
    const jobs = stores.jobs({ kind: 'shared' }).forTenant(tenant.id);
    expect(await jobs.get(job.id)).toBeUndefined();
    expect(await jobs.countItems()).toBe(0);
  });

  it('a submit that rolls back the whole group commit (SQLITE_FULL can) leaves no later submit of it committed yet rejected', async () => {
    const { jobsDb, stores, queue } = parts();
    const intake = createSqliteJobIntake({ stores, queue });
    cleanups.push(() => intake.close());
    const tenant = makeTenant(randomTenantId());
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    // A statement error after which SQLite has rolled back the whole transaction, not just the statement
    // (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM may): here a trigger's RAISE(ROLLBACK) on one message.
    jobsDb.exec(
      "CREATE TEMP TRIGGER full_disk BEFORE INSERT ON main.job_outbox WHEN NEW.message LIKE '%poison%' BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END",
    );
    await new Promise((r) => setImmediate(r));
    const lone = makeJob(tenant.id);
    const [a, poisoned, b] = [makeJob(tenant.id), makeJob(tenant.id), makeJob(tenant.id)];
    // The first of the turn commits alone; a, poisoned and b share one commit at the turn's end.
    const outcomes = await Promise.allSettled([
      intake.submit(tenant, submission(lone, lane)),
      intake.submit(tenant, submission(a, lane)),
      intake.submit(tenant, { ...submission(poisoned, lane), message: { body: 'poison' } }),
      intake.submit(tenant, submission(b, lane)),
    ]);
    const jobs = stores.jobs({ kind: 'shared' }).forTenant(tenant.id);
    const created = outcomes.map((o) => o.status === 'fulfilled' && o.value.kind === 'created');
    const stored = await Promise.all(
      [lone, a, poisoned, b].map(async (j) => (await jobs.get(j.id)) !== undefined),
    );
    // A submit answered with an error has no job; one answered `created` has its job and its message.
    // On the old intake b ran in a transaction of its own after the rollback and committed, while its submit
    // (and the whole group's) was rejected: a job nobody was told of, run, and made again by a retry.
    expect(stored).toEqual(created);
    expect(created[0]).toBe(true);
    expect(created[2]).toBe(false);
    expect(await bodiesOn(queue, lane)).toEqual(
      [lone, a, poisoned, b]
        .filter((_, i) => created[i])
        .map((j) => j.id)
        .sort(),
    );
  });

  it('a lone submit commits at once; the others of its event-loop turn share one commit, each with its own outcome', async () => {
    const base = parts();
    const { counts, stores } = countingCommits(base.stores);
    const intake = createSqliteJobIntake({ stores, queue: base.queue });
    cleanups.push(() => intake.close());
    const tenant = makeTenant(randomTenantId());
    const lane = randomName('lane');
    await base.queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    await new Promise((r) => setImmediate(r));

    const taken = makeJob(tenant.id);
    const lone = intake.submit(tenant, submission(taken, lane, 'k-taken'));
    // Committed before submit() returned: no wait for the end of the turn.
    expect(await stores.jobs({ kind: 'shared' }).forTenant(tenant.id).get(taken.id)).toEqual(taken);
    expect(await lone).toEqual({ kind: 'created' });
    await new Promise((r) => setImmediate(r));

    const before = counts.commits;
    const jobs = Array.from({ length: 20 }, () => makeJob(tenant.id));
    const outcomes = await Promise.all([
      ...jobs.map((job) => intake.submit(tenant, submission(job, lane))),
      intake.submit(tenant, submission(makeJob(tenant.id), lane, 'k-taken')),
    ]);
    // The first of the turn alone, the 20 others together.
    expect(counts.commits - before).toBe(2);
    expect(outcomes.slice(0, 20).every((o) => o.kind === 'created')).toBe(true);
    expect(outcomes[20]).toMatchObject({ kind: 'key-taken', existing: { jobId: taken.id } });
    expect(await bodiesOn(base.queue, lane)).toEqual([taken.id, ...jobs.map((j) => j.id)].sort());
  });

  it('what a crash left in the outbox reaches the queue at the next start, once, however often it drains', async () => {
    const { stores, queue } = parts();
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    // The queue refuses every move, as if the process died between the job's commit and the move.
    const dead = createSqliteJobIntake({
      stores,
      queue: {
        ...queue,
        acceptOutbox: () => {
          throw new Error('killed');
        },
      },
    });
    const tenant = makeTenant(randomTenantId());
    const jobs = [makeJob(tenant.id), makeJob(tenant.id)];
    for (const job of jobs)
      expect(await dead.submit(tenant, submission(job, lane))).toEqual({ kind: 'created' });
    dead.close();
    expect(await bodiesOn(queue, lane)).toEqual([]);

    const restarted = createSqliteJobIntake({ stores, queue });
    cleanups.push(() => restarted.close());
    restarted.drainAll();
    restarted.drainAll();
    expect(await bodiesOn(queue, lane)).toEqual(jobs.map((j) => j.id).sort());
    const outboxRows = stores.database({ kind: 'shared' }).prepare('SELECT count(*) AS n FROM job_outbox');
    expect((outboxRows.get() as { n: number }).n).toBe(0);
  });

  it("a move that failed leaves its rows for the next submit's move, which takes them too", async () => {
    const { stores, queue } = parts();
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    // The first move is refused (the queue file locked past its busy timeout); the retry waits a second.
    let refusals = 1;
    const intake = createSqliteJobIntake({
      stores,
      queue: {
        ...queue,
        acceptOutbox: (source, entries) => {
          if (refusals-- > 0) throw new Error('queue file locked');
          return queue.acceptOutbox(source, entries);
        },
      },
      onError: () => undefined,
    });
    cleanups.push(() => intake.close());
    const tenant = makeTenant(randomTenantId());
    const [first, second] = [makeJob(tenant.id), makeJob(tenant.id)];
    expect(await intake.submit(tenant, submission(first, lane))).toEqual({ kind: 'created' });
    // The second commit's own rows are not the whole outbox above the mark: the move reads the outbox, so the
    // first job's message goes with it (moving only its own rows would pass the mark over the first's).
    expect(await intake.submit(tenant, submission(second, lane))).toEqual({ kind: 'created' });
    const receivedNow = await queue.receive(lane, { maxMessages: 10 });
    expect(receivedNow.map((m) => m.body).sort()).toEqual([first.id, second.id].sort());
    const outboxRows = stores.database({ kind: 'shared' }).prepare('SELECT count(*) AS n FROM job_outbox');
    expect((outboxRows.get() as { n: number }).n).toBe(0);
  });

  it("a dedicated tenant's database made anew does not inherit the old one's mark", async () => {
    const { stores, queue } = parts();
    const intake = createSqliteJobIntake({ stores, queue });
    cleanups.push(() => intake.close());
    const id = randomTenantId();
    const tenant: Tenant = makeTenant(id, { placement: 'dedicated' });
    const ref: StoreRef = { kind: 'dedicated', tenantId: id };
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    await stores.provision(ref);
    const first = Array.from({ length: 3 }, () => makeJob(id));
    for (const job of first) await intake.submit(tenant, submission(job, lane));
    expect(await bodiesOn(queue, lane)).toEqual(first.map((j) => j.id).sort());

    // Demoted and promoted again: a new file, whose outbox ids start at 1 again.
    await stores.destroy(ref);
    await stores.provision(ref);
    const again = makeJob(id);
    await intake.submit(tenant, submission(again, lane));
    expect(await bodiesOn(queue, lane)).toEqual([again.id]);
  });
});

describe('a dedicated tenant whose database closed while its outbox waited', () => {
  it('the retried move opens the database again and sends what the outbox held', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-intake-'));
    const jobsDb = openDatabase(join(dir, 'jobs.sqlite'));
    // The tenant's database closes soon after its last use, as an idle one does (store-provider.ts).
    const stores = createEmbeddedStoreProvider(dir, jobsDb, { idleCloseMs: 50 });
    const queue = createSqliteMessageQueue(jobsDb);
    cleanups.push(async () => {
      await stores.close();
      jobsDb.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const id = randomTenantId();
    const tenant: Tenant = makeTenant(id, { placement: 'dedicated' });
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    await stores.provision({ kind: 'dedicated', tenantId: id });
    // The queue refuses the first three moves (its file locked past the busy timeout, say): by the last
    // retry the tenant's connection was closed.
    let refusals = 3;
    const errors: unknown[] = [];
    const intake = createSqliteJobIntake({
      stores,
      queue: {
        ...queue,
        acceptOutbox: (source, entries) => {
          if (refusals-- > 0) throw new Error('queue file locked');
          return queue.acceptOutbox(source, entries);
        },
      },
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => intake.close());
    const job = makeJob(id);
    expect(await intake.submit(tenant, submission(job, lane))).toEqual({ kind: 'created' });
    // What each poll takes off the queue is kept: a poll still running when the time is up takes the message
    // with it (a CI run under load once took 8 s for the three retries).
    const received: string[] = [];
    await expect
      .poll(
        async () => {
          received.push(...(await bodiesOn(queue, lane)));
          return received;
        },
        {
          timeout: 25_000,
          interval: 200,
        },
      )
      .toEqual([job.id]);
    expect(errors.length).toBe(3);
  }, 30_000);
});

describe('a dedicated tenant whose database closed between a retry and its drain', () => {
  it('the drain that finds it closed retries on a connection opened anew (not left in the outbox)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-intake-'));
    const jobsDb = openDatabase(join(dir, 'jobs.sqlite'));
    // One dedicated tenant's database open at a time: using another's closes it (store-provider.ts).
    const stores = createEmbeddedStoreProvider(dir, jobsDb, { maxOpen: 1 });
    const queue = createSqliteMessageQueue(jobsDb);
    cleanups.push(async () => {
      await stores.close();
      jobsDb.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const [id, other] = [randomTenantId(), randomTenantId()];
    const tenant: Tenant = makeTenant(id, { placement: 'dedicated' });
    const lane = randomName('lane');
    await queue.createQueue(lane, { visibilityTimeoutSec: 30 });
    for (const tenantId of [id, other]) await stores.provision({ kind: 'dedicated', tenantId });
    // Two moves refused. At the second, a timer is set to fire just after the intake's retry (same delay,
    // set right after it in the same turn, so it runs after it in the same turn): the retry sees the connection open and schedules
    // its drain for the turn's end; this timer then uses the other tenant's store, which closes this one.
    let refusals = 2;
    const intake = createSqliteJobIntake({
      stores,
      queue: {
        ...queue,
        acceptOutbox: (source, entries) => {
          if (refusals-- > 0) {
            if (refusals === 0)
              queueMicrotask(() =>
                setTimeout(() => stores.database({ kind: 'dedicated', tenantId: other }), 1000),
              );
            throw new Error('queue file locked');
          }
          return queue.acceptOutbox(source, entries);
        },
      },
      onError: () => undefined,
    });
    cleanups.push(() => intake.close());
    const job = makeJob(id);
    expect(await intake.submit(tenant, submission(job, lane))).toEqual({ kind: 'created' });
    const received: string[] = [];
    await expect
      .poll(
        async () => {
          received.push(...(await bodiesOn(queue, lane)));
          return received;
        },
        { timeout: 15_000, interval: 200 },
      )
      .toEqual([job.id]);
  }, 30_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteJobStore } from '../../src/adapters/embedded/job-store.ts';
import { InvalidTransitionError } from '../../src/core/errors.ts';
import { newJobId, parseTenantId } from '../../src/core/ids.ts';
import { canTransition, type JobRecord, type JobStatus, nextJobVersion } from '../../src/core/job.ts';
import { nextVersion } from '../../src/ports/job-store.ts';
import { newTenantId } from '../support/server.ts';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

function jobIn(status: JobStatus, tenantId = parseTenantId(newTenantId('state'))): JobRecord {
  const now = new Date().toISOString();
  return {
    id: newJobId(),
    tenantId,
    model: 'finance',
    modelVersion: '1.0.0',
    status,
    input: {},
    effectiveInput: {},
    rules: {},
    artifacts: [],
    attempts: 0,
    cost: 1,
    priority: 0,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the job state machine', () => {
  it('lets a write change the status only along an allowed transition, and says which one it refused', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATUSES), fc.constantFrom(...STATUSES), (from, to) => {
        const job = jobIn(from);
        if (canTransition(from, to)) {
          expect(nextJobVersion(job, { status: to })).toMatchObject({ status: to, version: 2 });
          return;
        }
        const refused = (() => {
          try {
            nextJobVersion(job, { status: to });
          } catch (error) {
            return error;
          }
        })();
        expect(refused).toBeInstanceOf(InvalidTransitionError);
        expect(refused).toMatchObject({ code: 'invalid_transition', status: 409, from, to });
      }),
    );
  });

  it('never runs a finished job again, nor revives a cancelled one; a redrive requeues a failed job', () => {
    expect(canTransition('succeeded', 'running')).toBe(false);
    expect(canTransition('cancelled', 'queued')).toBe(false);
    expect(canTransition('failed', 'queued')).toBe(true);
    // A write without a status change (a heartbeat of the record, an announcement mark) is not a transition.
    expect(nextJobVersion(jobIn('succeeded'), { announcedAt: 'now' }).status).toBe('succeeded');
  });

  it('refuses an illegal transition before it reaches the store: the stored record is unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-state-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'jobs.sqlite'));
    try {
      const job = jobIn('queued');
      const jobs = createSqliteJobStore(db).forTenant(job.tenantId);
      await jobs.create(job);
      const running = await jobs.update(nextVersion(job, { status: 'running' }), job.version);
      const done = await jobs.update(nextVersion(running, { status: 'succeeded' }), running.version);
      expect(() => nextVersion(done, { status: 'running' })).toThrow(InvalidTransitionError);
      expect(() => nextVersion(done, { status: 'cancelled' })).toThrow(InvalidTransitionError);
      expect(await jobs.get(job.id)).toEqual(done);
    } finally {
      db.close();
    }
  });
});

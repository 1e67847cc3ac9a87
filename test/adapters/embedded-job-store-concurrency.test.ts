import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteJobStore } from '../../src/adapters/embedded/job-store.ts';
import { ConditionFailedError } from '../../src/core/errors.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

const run = promisify(execFile);
const updater = fileURLToPath(new URL('./job-updater.ts', import.meta.url));

describe('embedded job store: compare-and-set updates', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a stale version is a conflict whether or not it changes the model, and writes nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-cas-'));
    const db = openDatabase(join(dir, 'jobs.sqlite'));
    const tenantId = randomTenantId();
    const store = createSqliteJobStore(db).forTenant(tenantId);
    const job = makeJob(tenantId);
    await store.create(job);
    const running = await store.update({ ...job, status: 'running' }, job.version);
    for (const model of ['finance', 'funds']) {
      for (const version of [job.version, running.version + 1, running.version + 5]) {
        await expect(store.update({ ...running, model, status: 'failed' }, version)).rejects.toBeInstanceOf(
          ConditionFailedError,
        );
      }
    }
    const row = db
      .prepare('SELECT doc, version, status, model FROM job_items WHERE sk = ?')
      .get(`JOB#${job.id}`) as { doc: string; version: number; status: string; model: string };
    expect(row).toMatchObject({ version: running.version, status: 'running', model: 'finance' });
    expect(JSON.parse(row.doc)).toMatchObject({
      version: running.version,
      status: 'running',
      model: 'finance',
    });
    db.close();
  });

  it('processes racing on one job: one win per version, and the model column follows the record', async () => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-cas-mp-'));
    const path = join(dir, 'jobs.sqlite');
    const db = openDatabase(path);
    const tenantId = randomTenantId();
    const job = makeJob(tenantId);
    await createSqliteJobStore(db).forTenant(tenantId).create(job);
    const barrier = join(dir, 'barrier');
    mkdirSync(barrier);
    const children = [1, 2, 3].map(() =>
      run(process.execPath, ['--import', 'tsx', updater, path, tenantId, job.id, '150', barrier]),
    );
    while (readdirSync(barrier).filter((f) => f.startsWith('ready-')).length < children.length)
      await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(join(barrier, 'go'), '');
    const results = (await Promise.all(children)).map(
      (r) => JSON.parse(r.stdout) as { wins: { version: number; model: string }[]; conflicts: number },
    );
    const wins = results.flatMap((r) => r.wins).sort((a, b) => a.version - b.version);
    // Every version from 2 on was written by exactly one update, none lost or won twice.
    expect(wins.map((w) => w.version)).toEqual(Array.from({ length: wins.length }, (_, i) => i + 2));
    expect(results.reduce((n, r) => n + r.wins.length + r.conflicts, 0)).toBe(450);
    const row = db.prepare('SELECT doc, version, model FROM job_items WHERE sk = ?').get(`JOB#${job.id}`) as {
      doc: string;
      version: number;
      model: string;
    };
    const last = wins.at(-1)!;
    expect(row.version).toBe(last.version);
    expect(row.model).toBe(last.model);
    expect(JSON.parse(row.doc)).toMatchObject({ version: last.version, model: last.model });
    // Listed under its model only.
    const store = createSqliteJobStore(db).forTenant(tenantId);
    const other = last.model === 'finance' ? 'funds' : 'finance';
    expect((await store.list({ limit: 5, model: last.model })).items.map((j) => j.id)).toEqual([job.id]);
    expect((await store.list({ limit: 5, model: other })).items).toEqual([]);
    db.close();
  }, 60_000);
});

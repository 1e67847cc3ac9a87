import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import {
  exportOf,
  type Operation,
  operation,
  startOffboard,
  submit,
  until,
  waitForOperation,
} from './helpers.ts';
import { leftovers } from './leftovers.ts';

// Issue 12, kind 4: SIGKILL during an offboarding left job records gone, artifacts on disk, no export
// and a 404 on retry. Offboarding is now an operation: here the real server is killed as each of its
// steps starts (one tenant per kill point, ~200 jobs each, shared and dedicated in turn), restarted, and
// the operation must finish by itself with a complete export and nothing of the tenant left anywhere,
// while the other tenants carry on untouched.

const JOBS = Number(process.env.OFFBOARD_CRASH_JOBS ?? 200);
const STEPS = 10;
const ENV = { SILOPOOL_WORKERS: '2' };

interface Victim {
  id: string;
  placement: 'shared' | 'dedicated';
  apiKey: string;
  jobs: string[];
}

/** The tenant's offboarding as stored, read straight from the database: a step is seen once it is marked. */
function storedOffboarding(db: Database.Database, tenantId: string): Operation | undefined {
  const row = db
    .prepare("SELECT doc FROM operations WHERE tenant_id = ? AND json_extract(doc, '$.kind') = 'offboard'")
    .get(tenantId) as { doc: string } | undefined;
  return row ? (JSON.parse(row.doc) as Operation) : undefined;
}

/**
 * SIGKILLs the server once `ready()` holds. The server runs in short slices (SIGCONT, a 50 µs busy wait,
 * SIGSTOP) and `ready` is judged, and this process's own work done, while it is stopped, so the kill lands
 * close to the moment the condition became true even for steps that take a millisecond. Close, not exact:
 * the scheduler may give a slice more time; the test logs where each kill landed.
 */
async function killWhen(server: TestServer, ready: () => boolean): Promise<void> {
  const pid = server.process.pid!;
  for (;;) {
    process.kill(pid, 'SIGCONT');
    const end = process.hrtime.bigint() + SLICE_NS;
    while (process.hrtime.bigint() < end);
    process.kill(pid, 'SIGSTOP');
    let done: boolean;
    try {
      done = ready();
    } catch (error) {
      // Stopped at an arbitrary point, the server may be in the middle of a write-ahead-log change: this
      // process's read can then fail with SQLITE_PROTOCOL or SQLITE_BUSY (a CI run once did); the next slice
      // lets the server finish it. Any other error ends the test.
      const code = (error as { code?: unknown }).code;
      if (code !== 'SQLITE_PROTOCOL' && code !== 'SQLITE_BUSY') {
        process.kill(pid, 'SIGCONT');
        throw error;
      }
      done = false;
    }
    if (done) break;
    await new Promise((r) => setImmediate(r));
  }
  await server.kill();
}
const SLICE_NS = 50_000n;

/** Submits `count` small finance jobs (some with an Idempotency-Key), 16 at a time; answers their ids. */
async function submitMany(server: TestServer, apiKey: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = Array.from({ length: Math.min(16, count - i) }, (_, k) =>
      submit(
        server,
        apiKey,
        { revenue: 1000 + i + k },
        (i + k) % 5 === 0 ? { 'idempotency-key': `k-${i + k}` } : {},
      ),
    );
    ids.push(...(await Promise.all(batch)).map((j) => j.id));
  }
  return ids;
}

async function settleAll(server: TestServer, apiKey: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const job = await waitForJob(server, apiKey, id, { timeoutMs: 120_000 });
    expect(job.status, id).toBe('succeeded');
  }
}

describe('a crash mid-offboarding', () => {
  it('resumes after SIGKILL at every step: the export is complete and nothing of the tenant remains', async () => {
    let server = await startTestServer({ env: ENV, keepData: true });
    const dataDir = server.dataDir;
    try {
      // Bystanders, shared and dedicated, whose jobs and artifacts must come through untouched.
      const bystanders: { id: string; apiKey: string; sums: Map<string, string> }[] = [];
      for (const placement of ['shared', 'dedicated'] as const) {
        const id = newTenantId(`keep-${placement.slice(0, 3)}`);
        const { apiKey } = await server.createTenant(id, { placement });
        const jobs = await submitMany(server, apiKey, 4);
        await settleAll(server, apiKey, jobs);
        const sums = new Map<string, string>();
        for (const job of jobs) {
          const res = await server.api(`/v1/jobs/${job}/artifacts/workbook.xlsx`, { token: apiKey });
          sums.set(
            job,
            createHash('sha256')
              .update(new Uint8Array(await res.arrayBuffer()))
              .digest('hex'),
          );
        }
        bystanders.push({ id, apiKey, sums });
      }

      const victims: Victim[] = [];
      for (let n = 0; n < STEPS; n++) {
        const placement = n % 2 === 0 ? 'shared' : 'dedicated';
        const id = newTenantId(`gone-${n}`);
        const { apiKey } = await server.createTenant(id, { placement });
        victims.push({ id, placement, apiKey, jobs: await submitMany(server, apiKey, JOBS) });
      }
      for (const v of victims) await settleAll(server, v.apiKey, v.jobs);

      const killedIn: string[] = [];
      for (const [n, victim] of victims.entries()) {
        // The answer may never come: the server can die before it is sent.
        const answer = startOffboard(server, victim.id, n % 3 === 0 ? 'DELETE' : 'POST').catch(
          () => undefined,
        );
        const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true });
        let started: Operation | undefined;
        try {
          // Killed the moment step n is marked running (or the first slice after, had it been quicker).
          await killWhen(server, () => {
            started = storedOffboarding(db, victim.id);
            return (
              started !== undefined &&
              (started.status !== 'running' || started.steps[n]!.status !== 'pending')
            );
          });
          const op = storedOffboarding(db, victim.id)!;
          const running = op.steps.findIndex((s) => s.status === 'running');
          killedIn.push(`${n}: ${op.status === 'running' ? `step ${running} running` : op.status}`);
        } finally {
          db.close();
        }
        await answer;
        if (!started) throw new Error('no offboarding was recorded');

        server = await startTestServer({ dataDir, env: ENV, keepData: true });
        // A retry while the offboarding runs answers that operation, never a 404.
        const again = await server.api(`/v1/admin/tenants/${victim.id}/offboard`, {
          method: 'POST',
          token: server.operatorToken,
        });
        if (again.status === 202) expect(((await again.json()) as Operation).id).toBe(started.id);
        else {
          expect(again.status, `retry after a kill at step ${n}`).toBe(404);
          expect((await operation(server, started.id)).status).toBe('succeeded');
        }

        const done = (await waitForOperation(server, started.id, 120_000)) as Operation & {
          check?: { remains: string[] };
          export?: { jobs: number; objects: number };
        };
        expect(done.status, `${n}: ${JSON.stringify(done.steps)}`).toBe('succeeded');
        expect(done.steps.map((s) => s.status)).toEqual(Array(STEPS).fill('done'));
        expect(done.check?.remains).toEqual([]);
        expect(done.export).toMatchObject({ jobs: JOBS, objects: JOBS });

        // The export is complete: every job, succeeded, with its workbook matching the recorded sha256.
        const files = await exportOf(server, started.id);
        expect(JSON.parse(new TextDecoder().decode(files['tenant.json']!)).id).toBe(victim.id);
        for (const job of victim.jobs) {
          const record = JSON.parse(new TextDecoder().decode(files[`jobs/${job}.json`]!)) as {
            status: string;
            artifacts: { sha256: string }[];
          };
          expect(record.status).toBe('succeeded');
          const workbook = files[`objects/jobs/${job}/workbook.xlsx`];
          expect(workbook, `${n}: ${job}`).toBeDefined();
          expect(createHash('sha256').update(workbook!).digest('hex')).toBe(record.artifacts[0]!.sha256);
        }

        // Nothing of it anywhere: tenant record, job records and keys, messages, dedup ids, scheduling rows,
        // other operations, its dedicated folder, any artifact file under DATA_DIR.
        expect(
          (await server.api(`/v1/admin/tenants/${victim.id}`, { token: server.operatorToken })).status,
        ).toBe(404);
        expect(leftovers(dataDir, [victim.id, ...victim.jobs], started.id)).toEqual([]);
        expect(existsSync(join(dataDir, 'tenants', victim.id))).toBe(false);
      }
      console.info(`offboarding killed at: ${killedIn.join('; ')}`);

      // The bystanders: every job and artifact as before, and new work runs.
      for (const b of bystanders) {
        for (const [job, sum] of b.sums) {
          const res = await server.api(`/v1/jobs/${job}/artifacts/workbook.xlsx`, { token: b.apiKey });
          expect(res.status).toBe(200);
          expect(
            createHash('sha256')
              .update(new Uint8Array(await res.arrayBuffer()))
              .digest('hex'),
          ).toBe(sum);
        }
        const fresh = await submit(server, b.apiKey, { revenue: 5 });
        expect((await waitForJob(server, b.apiKey, fresh.id, { timeoutMs: 40_000 })).status).toBe(
          'succeeded',
        );
      }
      await until('bystanders listed', async () => {
        const res = await server.api('/v1/admin/tenants', { token: server.operatorToken });
        const ids = ((await res.json()) as { items: { id: string }[] }).items.map((t) => t.id);
        return bystanders.every((b) => ids.includes(b.id)) && victims.every((v) => !ids.includes(v.id));
      });
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 600_000);
});

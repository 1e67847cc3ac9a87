import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { startMove, submit, waitForOperation } from './helpers.ts';

let server: TestServer;
beforeAll(async () => {
  // No fault is injected here, so no job may run twice: the default 30 s visibility timeout, not the test
  // servers' 4 s, which a busy machine's stalled heartbeat (a SQLite lock wait blocks the loop) can outlast,
  // redelivering a running job (a legitimate retry, but not what this test is about).
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '2', SILOPOOL_VISIBILITY_TIMEOUT_SEC: '30' } });
});
afterAll(async () => {
  await server?.stop();
});

/** What of the tenant the shared store and queues hold, read straight from the SQLite file. */
function sharedTraces(dataDir: string, tenant: string) {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true });
  const jobsDb = new Database(join(dataDir, 'jobs.sqlite'), { readonly: true });
  try {
    const items = jobsDb.prepare('SELECT count(*) AS n FROM job_items WHERE pk = ?').get(`T#${tenant}`) as {
      n: number;
    };
    const messages = db
      .prepare("SELECT count(*) AS n FROM messages WHERE grp = ? AND queue LIKE 'shared_%'")
      .get(tenant) as { n: number };
    const queues = db
      .prepare('SELECT count(*) AS n FROM queues WHERE name LIKE ?')
      .get(`tenant_${tenant}_%`) as { n: number };
    return { items: items.n, messages: messages.n, dedicatedQueues: queues.n };
  } finally {
    db.close();
    jobsDb.close();
  }
}

describe('promotion and demotion under continuous load', () => {
  it('no request fails, every job ends once with one artifact, old links keep working, nothing stays behind', async () => {
    const tenant = newTenantId('load');
    const { apiKey } = await server.createTenant(tenant, { plan: 'enterprise' });
    const failures: string[] = [];
    const accepted: string[] = [];
    const finished = new Map<string, string>();

    // History from before the moves: finished jobs whose ids and artifact links must survive both moves.
    const before = await Promise.all(
      Array.from({ length: 10 }, (_, i) => submit(server, apiKey, { revenue: 10_000 + i })),
    );
    for (const job of before) {
      accepted.push(job.id);
      await waitForJob(server, apiKey, job.id);
      finished.set(job.id, `/v1/jobs/${job.id}/artifacts/workbook.xlsx`);
    }

    let stop = false;
    let requests = 0;
    /** Waits for `n` more requests of the load: the load provably ran in that phase, however fast the machine. */
    const loadRuns = async (n: number) => {
      const target = requests + n;
      while (requests < target) {
        if (failures.length > 0) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const check = async (label: string, res: Response) => {
      requests++;
      const text = await res.text();
      if (res.status >= 400) failures.push(`${label}: ${res.status} ${text}`);
      return { status: res.status, text };
    };
    const loop = async (worker: number) => {
      for (let i = 0; !stop; i++) {
        const key = `w${worker}-${i}`;
        const res = await check(
          'submit',
          await server.api('/v1/models/finance/jobs', {
            method: 'POST',
            token: apiKey,
            headers: { 'idempotency-key': key },
            body: JSON.stringify({ input: { revenue: 100_000 + worker * 10_000 + i } }),
          }),
        );
        const { id } = (res.status === 202 ? JSON.parse(res.text) : {}) as { id?: string };
        if (res.status === 202 && id) accepted.push(id);
        // A retry with the same key answers the same job, before, during and after a move.
        if (i % 5 === 0 && id) {
          const again = await server.api('/v1/models/finance/jobs', {
            method: 'POST',
            token: apiKey,
            headers: { 'idempotency-key': key },
            body: JSON.stringify({ input: { revenue: 100_000 + worker * 10_000 + i } }),
          });
          requests++;
          const replay = (await again.json()) as { id: string };
          if (again.status >= 400 || replay.id !== id)
            failures.push(`idempotent replay of ${key}: ${again.status} ${replay.id} != ${id}`);
        }
        if (id) await check('get job', await server.api(`/v1/jobs/${id}`, { token: apiKey }));
        const old = [...finished.values()][i % finished.size]!;
        await check('get artifact', await server.api(old, { token: apiKey }));
        // Steady, not saturating: a client submitting a few jobs a second per worker.
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // A loop that throws ends the waits below at once, with the reason among the failures.
    const load = [loop(1), loop(2)].map((running) =>
      running.catch((error: unknown) => {
        failures.push(`load: ${String(error)}`);
      }),
    );

    await loadRuns(10);
    // A burst just before each move, so the old lane has queued jobs to drain while the move runs.
    const burst = async () => {
      for (const job of await Promise.all(
        Array.from({ length: 15 }, (_, i) => submit(server, apiKey, { revenue: 7_000 + i })),
      )) {
        accepted.push(job.id);
      }
    };
    await burst();
    const promote = await startMove(server, tenant, 'dedicated');
    const duringPromotion = requests;
    expect(promote.steps.map((s) => s.name)).toContain('switch reads');
    const promoted = await waitForOperation(server, promote.id);
    expect(promoted.error).toBeUndefined();
    expect(promoted.status).toBe('succeeded');
    expect(promoted.progress).toBe(1);
    expect(promoted.steps.every((s) => s.status === 'done')).toBe(true);
    const afterPromotion = sharedTraces(server.dataDir, tenant);
    expect(afterPromotion.items).toBe(0);
    expect(afterPromotion.messages).toBe(0);
    expect(existsSync(join(server.dataDir, 'objects', 'tenants', tenant))).toBe(false);
    expect(existsSync(join(server.dataDir, 'tenants', tenant, 'jobs.sqlite'))).toBe(true);

    const promotionRequests = requests - duringPromotion;
    await loadRuns(10);
    await burst();
    const demote = await startMove(server, tenant, 'shared');
    const demoted = await waitForOperation(server, demote.id);
    expect(demoted.error).toBeUndefined();
    expect(demoted.status).toBe('succeeded');
    await loadRuns(10);
    stop = true;
    await Promise.all(load);

    expect(failures).toEqual([]);
    // Requests arrived while the promotion ran, not only around it.
    expect(promotionRequests).toBeGreaterThan(0);
    // Nothing of the tenant is left in the dedicated place.
    expect(existsSync(join(server.dataDir, 'tenants', tenant))).toBe(false);
    expect(sharedTraces(server.dataDir, tenant).dedicatedQueues).toBe(0);

    const unique = [...new Set(accepted)];
    for (const id of unique) {
      const job = await waitForJob(server, apiKey, id, { timeoutMs: 30_000 });
      expect(job.status, id).toBe('succeeded');
      expect(job.attempts, id).toBe(1);
      expect(job.artifacts).toHaveLength(1);
      const artifact = await server.api(`/v1/jobs/${id}/artifacts/workbook.xlsx`, { token: apiKey });
      expect(artifact.status).toBe(200);
      await artifact.arrayBuffer();
      expect(artifact.headers.get('etag')).toBe(`"${(job.artifacts as { sha256: string }[])[0]!.sha256}"`);
    }
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = (await (
        await server.api(`/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
          token: apiKey,
        })
      ).json()) as { items: { id: string }[]; nextCursor?: string };
      listed.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(listed.sort()).toEqual(unique.sort());
  }, 120_000);
});

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, functions, submit, until, waitForOperation } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { publishRelease, type RolloutView, startRollout, tenantRecord } from './fixtures.ts';

/**
 * Upgrades on the embedded backend. 50 dedicated tenants are real tenants (own queues, own SQLite store,
 * a queue consumer per lane); only the few that get jobs start a function process (processes start on
 * demand), so the rest weigh a record and two idle consumers each.
 */
const TENANTS = 50;

let server: TestServer;
const dedicated: { id: string; apiKey: string }[] = [];
let pinned: { id: string; apiKey: string };
let sharedPinned: { id: string; apiKey: string };
let sharedFollower: { id: string; apiKey: string };

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1', SILOPOOL_MAX_RECEIVES: '6' } });
  const ids = Array.from({ length: TENANTS }, (_, i) => newTenantId(`up${String(i).padStart(2, '0')}`));
  for (let i = 0; i < ids.length; i += 10) {
    const batch = await Promise.all(
      ids.slice(i, i + 10).map(async (id) => ({
        id,
        apiKey: (await server.createTenant(id, { placement: 'dedicated', plan: 'enterprise' })).apiKey,
      })),
    );
    dedicated.push(...batch);
  }
  dedicated.sort((a, b) => (a.id < b.id ? -1 : 1));
  pinned = dedicated[7]!;
  sharedPinned = await newTenant('pin');
  sharedFollower = await newTenant('follow');
  for (const t of [pinned, sharedPinned]) {
    const res = await server.api(`/v1/admin/tenants/${t.id}/pins`, {
      method: 'PUT',
      token: server.operatorToken,
      body: JSON.stringify({ pins: { finance: '1.1.3' } }),
    });
    expect(res.status).toBe(200);
  }
  publishRelease(server.dataDir, 'r2', {
    models: { finance: { version: '1.2.0', body: "version: '1.2.0'" } },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function newTenant(prefix: string) {
  const id = newTenantId(prefix);
  return { id, apiKey: (await server.createTenant(id, { plan: 'enterprise' })).apiKey };
}

async function runFinance(tenant: { apiKey: string }) {
  const job = await submit(server, tenant.apiKey, { revenue: 2_000_000 });
  return waitForJob(server, tenant.apiKey, job.id, { timeoutMs: 60_000 });
}

describe('upgrades in waves', () => {
  it('rolls a release to 50 dedicated tenants in growing waves, then makes it current', async () => {
    const before = await runFinance(dedicated[0]!);
    expect(before).toMatchObject({ status: 'succeeded', modelVersion: '1.1.3', release: 'builtin' });
    const lane = async () =>
      (await functions(server)).find((f) => f.tenantId === dedicated[0]!.id && f.model === 'finance');
    const old = await lane();
    expect(old).toMatchObject({ state: 'warm', release: 'builtin' });

    const op = await startRollout(server, 'r2', { observeSec: 0.5 });
    expect(op.waves.map((w) => w.length)).toEqual([1, 2, 4, 8, 16, 19]);
    expect(op.waves[0]).toEqual([dedicated[0]!.id]);
    expect(op.steps.at(-1)?.name).toMatch(/current/);
    // Progress is visible while it runs; jobs keep running during it.
    const during = await Promise.all([runFinance(dedicated[3]!), runFinance(dedicated[40]!)]);
    for (const job of during) expect(job.status).toBe('succeeded');
    const done = (await waitForOperation(server, op.id, 120_000)) as unknown as RolloutView;
    expect(done.status).toBe('succeeded');
    expect(done.progress).toBe(1);
    expect(done.steps.every((s) => s.status === 'done')).toBe(true);

    for (const t of dedicated) expect((await tenantRecord(server, t.id)).release).toBe('r2');
    // The canary's function process was replaced by one on the new code; the old one ended.
    const replaced = await lane();
    expect(replaced?.release).toBe('r2');
    expect(replaced?.pid).not.toBe(old?.pid);
    await until('the old process to end', async () => !alive(old!.pid!));
    const list = (await (await server.api('/v1/admin/releases', { token: server.operatorToken })).json()) as {
      current: string;
      items: { id: string; current: boolean; tenants: string[]; models: Record<string, string> }[];
    };
    expect(list.current).toBe('r2');
    const r2 = list.items.find((r) => r.id === 'r2')!;
    expect(r2.models.finance).toBe('1.2.0');
    expect(r2.tenants).toEqual(expect.arrayContaining(dedicated.map((t) => t.id)));

    // Dedicated tenants on the new code; shared ones follow the current release.
    expect(await runFinance(dedicated[49]!)).toMatchObject({ modelVersion: '1.2.0', release: 'r2' });
    expect(await runFinance(sharedFollower)).toMatchObject({ modelVersion: '1.2.0', release: 'r2' });
  }, 180_000);

  it('keeps pinned tenants on their version, shared and dedicated, while others run the new one', async () => {
    // The shared function runs 1.1.3 for the pinned tenant and 1.2.0 for the other at the same time.
    const [a, b, c] = await Promise.all([
      runFinance(sharedPinned),
      runFinance(sharedFollower),
      runFinance(pinned),
    ]);
    expect(a).toMatchObject({ status: 'succeeded', modelVersion: '1.1.3' });
    expect(b).toMatchObject({ status: 'succeeded', modelVersion: '1.2.0' });
    expect(c).toMatchObject({ status: 'succeeded', modelVersion: '1.1.3' });
    expect((await tenantRecord(server, pinned.id)).pins).toEqual({ finance: '1.1.3' });
    // A pin to a version no release carries is refused.
    const res = await server.api(`/v1/admin/tenants/${pinned.id}/pins`, {
      method: 'PUT',
      token: server.operatorToken,
      body: JSON.stringify({ pins: { finance: '9.9.9' } }),
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { code: string }).code).toBe('pinned_version_unavailable');
  }, 60_000);

  it('halts at a failing canary, rolls it back by itself, and loses no job', async () => {
    publishRelease(server.dataDir, 'r3-bad', {
      models: {
        finance: {
          version: '1.3.0',
          body: "version: '1.3.0', run: () => { throw new Error('broken release'); }",
        },
      },
    });
    const canary = dedicated[20]!;
    const op = await startRollout(server, 'r3-bad', { canary: canary.id, observeSec: 60 });
    expect(op.waves[0]).toEqual([canary.id]);
    await until(
      'the canary on r3-bad',
      async () => (await tenantRecord(server, canary.id)).release === 'r3-bad',
    );
    const jobs = await Promise.all(
      [1, 2, 3].map((n) => submit(server, canary.apiKey, { revenue: 1_000_000 * n })),
    );
    const halted = (await waitForOperation(server, op.id, 60_000)) as unknown as RolloutView;
    expect(halted.status).toBe('failed');
    expect(halted.error?.code).toBe('rolled_back');
    expect(halted.steps[0]).toMatchObject({ status: 'failed' });
    expect(halted.steps[0]?.detail).toMatch(/rolled back/);
    expect(halted.steps.slice(1).every((s) => s.status === 'pending')).toBe(true);

    // Back on the previous release; no other tenant ever got the bad one; it is not current.
    expect((await tenantRecord(server, canary.id)).release).toBe('r2');
    for (const t of dedicated) expect((await tenantRecord(server, t.id)).release).toBe('r2');
    const list = (await (await server.api('/v1/admin/releases', { token: server.operatorToken })).json()) as {
      current: string;
    };
    expect(list.current).toBe('r2');
    // Every job accepted during the bad canary ends once, succeeded, on the previous code.
    for (const job of jobs) {
      const done = await waitForJob(server, canary.apiKey, job.id, { timeoutMs: 60_000 });
      expect(done).toMatchObject({ status: 'succeeded', modelVersion: '1.2.0', release: 'r2' });
    }
  }, 120_000);

  it("halts and rolls back a healthy-looking wave whose tenant's alert starts firing, not one already firing", async () => {
    publishRelease(server.dataDir, 'r4-alarmed', {
      models: { finance: { version: '1.4.0', body: "version: '1.4.0'" } },
    });
    const canary = dedicated[30]!;
    // What the server's alert rules read: points sampled into metrics history (as the sampler writes them).
    const sample = (metric: string, value: number) => {
      const db = new Database(join(server.dataDir, 'silopool.sqlite'));
      try {
        db.pragma('busy_timeout = 5000');
        db.prepare('INSERT INTO metrics_history (metric, scope, at, value) VALUES (?, ?, ?, ?)').run(
          metric,
          canary.id,
          Date.now(),
          value,
        );
      } finally {
        db.close();
      }
    };
    // Firing before the wave: part of its baseline, as old dead letters are.
    sample('dead_letters', 1);
    const op = await startRollout(server, 'r4-alarmed', { canary: canary.id, observeSec: 60 });
    await until(
      'the canary on r4-alarmed',
      async () => (await tenantRecord(server, canary.id)).release === 'r4-alarmed',
    );
    // Its jobs run well, and the old alert does not halt it; then its failure-rate alert starts firing.
    expect(await runFinance(canary)).toMatchObject({ status: 'succeeded', release: 'r4-alarmed' });
    expect(
      (
        (await server
          .api(`/v1/admin/operations/${op.id}`, { token: server.operatorToken })
          .then((r) => r.json())) as RolloutView
      ).status,
    ).toBe('running');
    sample('jobs_failed', 5);
    const halted = (await waitForOperation(server, op.id, 60_000)) as unknown as RolloutView;
    expect(halted.status).toBe('failed');
    expect(halted.error?.code).toBe('rolled_back');
    expect(halted.steps[0]?.detail).toMatch(/alarm SilopoolJobFailureRate firing/);
    expect(halted.steps[0]?.detail).not.toMatch(/SilopoolDeadLetters/);
    expect((await tenantRecord(server, canary.id)).release).toBe('r2');
  }, 120_000);

  it('refuses an unknown release, and a release that breaks the model contract (at load)', async () => {
    const missing = await server.api('/v1/admin/releases/nope/rollout', {
      method: 'POST',
      token: server.operatorToken,
      body: '{}',
    });
    expect(missing.status).toBe(404);
    publishRelease(server.dataDir, 'r4-schema', {
      models: {
        finance: {
          version: '1.4.0',
          body: "version: '1.4.0', inputSchema: { ...base.inputSchema, required: ['revenue', 'extra'] }",
        },
      },
    });
    const refused = await server.api('/v1/admin/releases/r4-schema/rollout', {
      method: 'POST',
      token: server.operatorToken,
      body: '{}',
    });
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { code: string; errors?: { path: string }[]; detail: string };
    expect(problem.code).toBe('release_invalid');
    expect(problem.detail).toContain('/models/finance/inputSchema');
    const list = (await (await server.api('/v1/admin/releases', { token: server.operatorToken })).json()) as {
      items: { id: string }[];
      invalid: { id: string; message: string }[];
    };
    expect(list.items.map((r) => r.id)).not.toContain('r4-schema');
    expect(list.invalid.map((r) => r.id)).toContain('r4-schema');
  });
});

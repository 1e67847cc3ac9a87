import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newTenantId, waitForJob } from '../support/server.ts';
import { chaosHarness } from './harness.ts';
import { chaosTenant, sleep } from './support.ts';

/** What silopool.sqlite holds of a tenant: its record, its dedicated queues, its operations (read as another process would). */
function stateOf(dataDir: string, id: string) {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const prefix = `tenant_${id}_`;
    const queues = db
      .prepare('SELECT name FROM queues WHERE substr(name, 1, length(?)) = ?')
      .all(prefix, prefix) as { name: string }[];
    return {
      record: db.prepare('SELECT 1 FROM tenants WHERE id = ?').get(id) !== undefined,
      queues: queues.map((q) => q.name),
      store: existsSync(join(dataDir, 'tenants', id)),
    };
  } finally {
    db.close();
  }
}

/**
 * SIGKILL of the embedded server after a dedicated tenant's lanes (queues, store) were made and before its
 * record was written, and a restart with no retry: nothing reconciled them, so they stayed with no tenant
 * for good (docs/operations.md, "An onboarding cut short"). The onboarding is now recorded first and the
 * restart removes what it made before it serves; the other tenants' jobs are all there, and the id can be
 * onboarded again.
 */
describe("SIGKILL between a dedicated tenant's lanes and its record (embedded)", () => {
  const chaos = chaosHarness();

  it('the restart removes the lanes of the tenant never written, and loses nothing else', async () => {
    const target = await chaos.start({ env: { SILOPOOL_WORKERS: '1' } });
    const before = target.current();
    const other = await chaosTenant(before, newTenantId('keep'), { placement: 'dedicated' });
    const submit = await before.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: other.apiKey,
      body: JSON.stringify({ input: { revenue: 2_000_000 } }),
    });
    expect(submit.status).toBe(202);
    const { id: jobId } = (await submit.json()) as { id: string };
    expect((await waitForJob(before, other.apiKey, jobId, { timeoutMs: 30_000 })).status).toBe('succeeded');

    // The kill lands between the store's file and the record on most tries; one that came late (the record
    // in) or early (no queue yet) is tried again with another id.
    let cut: string | undefined;
    for (let attempt = 0; attempt < 8 && !cut; attempt++) {
      const id = newTenantId('onbr');
      const server = target.current();
      const body = JSON.stringify({ id, name: 'Cut Co', placement: 'dedicated', plan: 'enterprise' });
      void server
        .api('/v1/admin/tenants', { method: 'POST', token: server.operatorToken, body })
        .catch(() => undefined);
      const until = Date.now() + 10_000;
      while (!existsSync(join(target.dataDir, 'tenants', id, 'jobs.sqlite'))) {
        if (Date.now() > until) throw new Error('the onboarding never made the store');
        await sleep(0);
      }
      await target.crashAndRestart();
      // Read after the restart: what the killed process left is what the restarted one had to judge.
      const after = stateOf(target.dataDir, id);
      if (!after.record) cut = id;
    }
    expect(cut, 'no kill landed between the lanes and the record in 8 tries').toBeDefined();
    const id = cut as string;

    const server = target.current();
    expect(stateOf(target.dataDir, id)).toEqual({ record: false, queues: [], store: false });
    const { items } = (await (
      await server.api(`/v1/admin/tenants/${id}/operations`, { token: server.operatorToken })
    ).json()) as { items: unknown[] };
    expect(items).toEqual([
      expect.objectContaining({
        kind: 'onboard',
        status: 'failed',
        error: expect.objectContaining({ code: 'onboarding_stopped' }),
      }),
    ]);

    // Nothing else was lost: the other tenant's finished job reads as it was, and a new one runs.
    const read = await server.api(`/v1/jobs/${jobId}`, { token: other.apiKey });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { status: string }).status).toBe('succeeded');

    // The id onboards again from nothing, and its jobs run.
    const again = await server.api('/v1/admin/tenants', {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ id, name: 'Cut Co', placement: 'dedicated', plan: 'enterprise' }),
    });
    expect(again.status, await again.clone().text()).toBe(201);
    const { apiKey } = (await again.json()) as { apiKey: string };
    const job = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { revenue: 1_000_000 } }),
    });
    expect(job.status).toBe(202);
    const { id: newJob } = (await job.json()) as { id: string };
    expect((await waitForJob(server, apiKey, newJob, { timeoutMs: 30_000 })).status).toBe('succeeded');
    expect(stateOf(target.dataDir, id)).toMatchObject({ record: true, store: true });
  }, 180_000);
});

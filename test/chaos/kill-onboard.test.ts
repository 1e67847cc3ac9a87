import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { newTenantId, waitForJob } from '../support/server.ts';
import { chaosHarness } from './harness.ts';
import { sleep } from './support.ts';

/** Whether the tenant's first dedicated queue, or its record, is in silopool.sqlite yet (read as another process would). */
function written(dataDir: string, id: string, what: 'lanes' | 'record'): boolean {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true, fileMustExist: true });
  try {
    if (what === 'record') return db.prepare('SELECT 1 FROM tenants WHERE id = ?').get(id) !== undefined;
    const prefix = `tenant_${id}_`;
    return (
      db.prepare('SELECT 1 FROM queues WHERE substr(name, 1, length(?)) = ?').get(prefix, prefix) !==
      undefined
    );
  } finally {
    db.close();
  }
}

/**
 * SIGKILL while the embedded server onboards a dedicated tenant (its queues, its store, its record), at a
 * few points in the request. After the restart an operator who never got the answer sends it again: the
 * tenant is then either onboarded by that retry or already there (409), and in both cases dedicated, with
 * lanes that run its jobs: never half-made (a record without lanes, lanes that refuse a retry).
 */
describe('SIGKILL mid-onboarding (embedded)', () => {
  const chaos = chaosHarness();

  it('a retried onboarding ends with a dedicated tenant whose jobs run', async () => {
    const target = await chaos.start({ env: { SILOPOOL_WORKERS: '1' } });
    const outcomes: string[] = [];
    for (const point of ['lanes', 'record'] as const) {
      const id = newTenantId('onbk');
      const server = target.current();
      const body = JSON.stringify({ id, name: 'Killed Co', placement: 'dedicated', plan: 'enterprise' });
      const first = server
        .api('/v1/admin/tenants', { method: 'POST', token: server.operatorToken, body })
        .then(
          (r) => String(r.status),
          () => 'cut',
        );
      // Killed as soon as the onboarding made the tenant's lanes, or wrote its record.
      const until = Date.now() + 10_000;
      while (!written(target.dataDir, id, point)) {
        if (Date.now() > until) throw new Error(`the onboarding never reached ${point}`);
        await sleep(1);
      }
      await target.crashAndRestart();
      const firstStatus = await first;
      const again = target.current();
      const retry = await again.api('/v1/admin/tenants', {
        method: 'POST',
        token: again.operatorToken,
        body,
      });
      expect([201, 409], await retry.clone().text()).toContain(retry.status);
      outcomes.push(`${point}: ${firstStatus}/${retry.status}`);
      const view = (await (
        await again.api(`/v1/admin/tenants/${id}`, { token: again.operatorToken })
      ).json()) as { placement: string; move?: unknown };
      expect(view).toMatchObject({ placement: 'dedicated' });
      const key = await again.api(`/v1/admin/tenants/${id}/api-keys`, {
        method: 'POST',
        token: again.operatorToken,
      });
      const { apiKey } = (await key.json()) as { apiKey: string };
      const submit = await again.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { revenue: 1_000_000 } }),
      });
      expect(submit.status, await submit.clone().text()).toBe(202);
      const { id: jobId } = (await submit.json()) as { id: string };
      expect((await waitForJob(again, apiKey, jobId, { timeoutMs: 30_000 })).status).toBe('succeeded');
    }
    console.log(`chaos-report ${JSON.stringify({ scenario: 'sigkill mid-onboarding', outcomes })}`);
  }, 180_000);
});

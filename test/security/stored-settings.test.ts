import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, waitForJob } from '../support/server.ts';
import { expectProblem } from './support.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** Edits a tenant's stored document behind the API, as an old version or a hand edit could. */
function tamper(dataDir: string, id: string, edit: (config: Record<string, unknown>) => void): void {
  const db = new Database(join(dataDir, 'silopool.sqlite'));
  try {
    const row = db.prepare<[string], { doc: string }>('SELECT doc FROM tenants WHERE id = ?').get(id)!;
    const doc = JSON.parse(row.doc) as { config: Record<string, unknown> };
    edit(doc.config);
    db.prepare('UPDATE tenants SET doc = ? WHERE id = ?').run(JSON.stringify(doc), id);
  } finally {
    db.close();
  }
}

describe('stored settings are checked when read back', () => {
  it('an invalid stored config is named at startup and refused on use; other tenants keep working', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-stored-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const bad = newTenantId('bad');
    const good = newTenantId('good');
    const first = await startTestServer({ dataDir });
    const { apiKey: badKey } = await first.createTenant(bad);
    const { apiKey: goodKey } = await first.createTenant(good);
    await first.stop();

    tamper(dataDir, bad, (config) => {
      config.rules = { finance: { ranges: { 'loan.__proto__': { minimum: 1 } } } };
      config.formatting = { locale: 'x'.repeat(5000), sheetNames: { Inputs: 'Summary' } };
      config.limits = { weight: 'heavy', maxRunningJobs: -3 };
    });

    const server = await startTestServer({ dataDir });
    cleanup.push(() => server.stop());
    const startup = server.output();
    expect(startup).toContain(bad);
    expect(startup).toContain('/config/rules/finance/ranges/loan.__proto__');
    expect(startup).toContain('/config/formatting/locale');
    expect(startup).not.toContain(good);

    for (const path of ['/v1/models', '/v1/models/finance']) {
      const refused = await expectProblem(
        await server.api(path, { token: badKey }),
        503,
        'tenant_settings_invalid',
      );
      expect(refused.detail).toContain(bad);
    }
    const submit = await expectProblem(
      await server.api('/v1/models/finance/jobs', { method: 'POST', token: badKey, body: '{"input":{}}' }),
      503,
      'tenant_settings_invalid',
    );
    expect(submit.errors?.map((e) => e.path)).toEqual(
      expect.arrayContaining([
        '/config/rules/finance/ranges/loan.__proto__',
        '/config/formatting/locale',
        '/config/formatting/sheetNames/Inputs',
        '/config/limits/weight',
      ]),
    );
    // Reading the tenant's own jobs does not need its settings.
    expect((await server.api('/v1/jobs', { token: badKey })).status).toBe(200);

    const ok = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: goodKey,
      body: '{"input":{}}',
    });
    expect(ok.status).toBe(202);
    const job = await waitForJob(server, goodKey, ((await ok.json()) as { id: string }).id);
    expect(job.status).toBe('succeeded');

    // An operator sees the tenant and corrects it; its settings are used again.
    const record = await server.api(`/v1/admin/tenants/${bad}`, { token: server.operatorToken });
    expect(record.status).toBe(200);
    const fixed = await server.api(`/v1/admin/tenants/${bad}`, {
      method: 'PATCH',
      token: server.operatorToken,
      body: JSON.stringify({ config: { rules: {}, formatting: { locale: 'de-DE' }, limits: {} } }),
    });
    expect(fixed.status, await fixed.clone().text()).toBe(200);
    const after = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: badKey,
      body: '{"input":{}}',
    });
    expect(after.status).toBe(202);
    expect(server.output()).not.toMatch(/"level":50/);
  }, 60_000);

  it('a stored record that is not JSON refuses that tenant with a 503 naming it, never a 500', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-stored-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const bad = newTenantId('torn');
    const good = newTenantId('good');
    const first = await startTestServer({ dataDir });
    const { apiKey: badKey } = await first.createTenant(bad);
    const { apiKey: goodKey } = await first.createTenant(good);
    await first.stop();
    const db = new Database(join(dataDir, 'silopool.sqlite'));
    db.prepare('UPDATE tenants SET doc = ? WHERE id = ?').run('{"id": "torn', bad);
    db.close();

    const server = await startTestServer({ dataDir });
    cleanup.push(() => server.stop());
    const refused = await expectProblem(
      await server.api('/v1/models', { token: badKey }),
      503,
      'tenant_settings_invalid',
    );
    expect(refused.detail).toContain(bad);
    await expectProblem(
      await server.api(`/v1/admin/tenants/${bad}`, { token: server.operatorToken }),
      503,
      'tenant_settings_invalid',
    );
    const ok = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: goodKey,
      body: '{"input":{}}',
    });
    expect(ok.status).toBe(202);
  }, 60_000);
});

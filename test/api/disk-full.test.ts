import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { canMountTmpfs, fillDisk, mountTmpfs, unmount } from '../support/tmpfs.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** The guard: a real small filesystem is needed to fill it; tmpfs mounts need root (CI has it). */
const CAN_MOUNT_TMPFS = canMountTmpfs();

const submit = (server: TestServer, token: string, revenue: number) =>
  server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token,
    body: JSON.stringify({ input: { revenue } }),
  });

describe.skipIf(!CAN_MOUNT_TMPFS)('a full disk (a 2 MB tmpfs as DATA_DIR)', () => {
  it('submits answer 507 with Retry-After while reads still work and /healthz says degraded; after space is freed submits work again', async () => {
    const dataDir = mountTmpfs('2m')!;
    cleanup.push(() => unmount(dataDir));
    const server = await startTestServer({
      dataDir,
      env: { SILOPOOL_MIN_FREE_BYTES: String(256 * 1024), SILOPOOL_METRICS_INTERVAL_SEC: '1' },
    });
    cleanup.push(() => server.stop());
    const tenant = newTenantId('full');
    const { apiKey } = await server.createTenant(tenant);
    const first = (await (await submit(server, apiKey, 1)).json()) as { id: string };
    expect((await waitForJob(server, apiKey, first.id)).status).toBe('succeeded');

    const healthy = await server.api('/healthz', { token: server.operatorToken });
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toMatchObject({ status: 'ok', disk: { minFreeBytes: 256 * 1024 } });

    // A key not used yet: its first request on the full disk would record its last use.
    const issued = await server.api(`/v1/admin/tenants/${tenant}/api-keys`, {
      method: 'POST',
      token: server.operatorToken,
    });
    const { apiKey: unusedKey } = (await issued.json()) as { apiKey: string };

    const ballast = join(dataDir, 'ballast');
    fillDisk(ballast);
    // Anyone learns that it is degraded; how full the disk is only operators do.
    const anonymous = await server.api('/healthz');
    expect(anonymous.status).toBe(503);
    expect(await anonymous.json()).toEqual({ status: 'degraded' });
    const degraded = await server.api('/healthz', { token: server.operatorToken });
    expect(degraded.status).toBe(503);
    const health = (await degraded.json()) as { status: string; disk: { freeBytes: number } };
    expect(health.status).toBe('degraded');
    expect(health.disk.freeBytes).toBeLessThan(256 * 1024);
    const metrics = await (await server.api('/metrics', { token: server.operatorToken })).text();
    expect(metrics).toMatch(/^silopool_data_dir_free_bytes \d+$/m);
    // The console's alerts (evaluated on the metrics history, sampled every second here) name it.
    let alerts: { name: string }[] = [];
    for (let i = 0; i < 50 && !alerts.some((a) => a.name === 'SilopoolDiskSpaceLow'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await server.api('/v1/admin/alerts', { token: server.operatorToken });
      if (res.status === 200) alerts = ((await res.json()) as { items: { name: string }[] }).items;
    }
    expect(alerts.map((a) => a.name)).toContain('SilopoolDiskSpaceLow');

    // SQLite reuses the room its files already have, so a few submits may still fit: send until one does not.
    let refused: Response | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const res = await submit(server, apiKey, 1000 + i);
      if (res.status === 507) refused = res;
      else expect(res.status).toBe(202);
    }
    expect(refused, 'a submit on a full disk is refused').toBeDefined();
    expect(refused!.headers.get('content-type')).toContain('application/problem+json');
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused!.json()).toMatchObject({ status: 507, code: 'storage_full' });

    expect((await server.api(`/v1/jobs/${first.id}`, { token: apiKey })).status).toBe(200);
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(200);
    expect((await server.api('/v1/jobs', { token: unusedKey })).status).toBe(200);
    expect((await server.api(`/v1/admin/tenants/${tenant}`, { token: server.operatorToken })).status).toBe(
      200,
    );

    rmSync(ballast);
    expect((await server.api('/healthz')).status).toBe(200);
    const again = await submit(server, apiKey, 2);
    expect(again.status).toBe(202);
    const job = await waitForJob(server, apiKey, ((await again.json()) as { id: string }).id, {
      timeoutMs: 60_000,
    });
    expect(job.status).toBe('succeeded');
  }, 120_000);
});

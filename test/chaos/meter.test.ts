import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { isMeteredFinish } from '../../src/core/usage.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { tenantDataFor } from '../../src/ports/placement-data.ts';
import { startMove, waitForOperation } from '../placement/helpers.ts';
import { chaosHarness, FAULT_FAILURES, loadUntilStopped, replayAndCheck } from './harness.ts';
import { newLedger, report, SEED, seededRandom, sleep } from './support.ts';

/**
 * Counted once, under faults: SIGKILL while jobs run (redeliveries follow), SIGKILL during a promotion
 * and a demotion (jobs copied between stores), a redrive of every dead letter. Afterwards the ledger
 * holds exactly one `jobs` record and one `compute_mb_ms` record for each job that really finished
 * (succeeded or failed after running), and nothing else — read from the stores and ledger on disk.
 */
describe('metering exactly once under faults', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-meter-chaos-'));
  const chaos = chaosHarness({ afterStop: () => rmSync(dataDir, { recursive: true, force: true }) });

  it('one record per finished job across kills, moves and a redrive', async () => {
    const random = seededRandom(SEED);
    const target = await chaos.start({ dataDir, env: { SILOPOOL_WORKERS: '2' } });
    const ledger = newLedger();
    await chaos.addTenants(
      ledger,
      [
        { prefix: 'meter-mov', placement: 'shared' },
        { prefix: 'meter-ded', placement: 'dedicated' },
      ],
      { receivers: false },
    );
    const [mover] = ledger.tenants;

    const load = loadUntilStopped(target, ledger, { concurrency: 3, max: 60, pauseMs: 200 });
    await sleep(500 + Math.floor(random() * 1500));
    await target.crashAndRestart();
    for (const to of ['dedicated', 'shared'] as const) {
      const op = await startMove(target.current(), mover!.id, to);
      await sleep(Math.floor(random() * 2000));
      await target.crashAndRestart();
      const done = await waitForOperation(target.current(), op.id, 60_000);
      expect(done.status).toBe('succeeded');
    }
    await load.stop();
    const faultsEndedAt = Date.now();
    const server = target.current();
    for (const model of ['finance', 'funds']) {
      await server.api('/v1/admin/dead-letters/redrive', {
        method: 'POST',
        token: server.operatorToken,
        body: JSON.stringify({ queue: sharedQueueName(model) }),
      });
    }
    const result = await replayAndCheck(server, ledger, faultsEndedAt, FAULT_FAILURES);

    // The ledger as the server wrote it (its startup pass closes any crash window; give it a moment).
    const platform = openEmbeddedPlatform(dataDir);
    try {
      const range = { from: '2000-01-01', to: '2100-01-01' };
      let mismatch = '';
      for (let attempt = 0; attempt < 40; attempt++) {
        mismatch = '';
        for (const t of ledger.tenants) {
          const tenant = (await platform.directory.get(t.id as TenantId))!;
          const jobs: JobRecord[] = [];
          let cursor: string | undefined;
          do {
            const page = await tenantDataFor(platform.stores, tenant).jobs.list({
              limit: 500,
              ...(cursor ? { cursor } : {}),
            });
            jobs.push(...page.items);
            cursor = page.nextCursor;
          } while (cursor);
          const finished = jobs
            .filter(isMeteredFinish)
            .map((j) => `job/${t.id}/${j.id}`)
            .sort();
          const records = await platform.usage.forTenant(t.id as TenantId).list(range);
          for (const meter of ['jobs', 'compute_mb_ms'] as const) {
            // A redriven job's later finish has a record of its own (`…/compute_mb_ms/after-N`): its base is one.
            const ids = records
              .filter((r) => r.meter === meter && !r.id.includes('/after-'))
              .map((r) => r.id.replace(`/${meter}`, ''))
              .sort();
            if (JSON.stringify(ids) !== JSON.stringify(finished))
              mismatch += `${t.id} ${meter}: ${ids.length} records for ${finished.length} finished jobs; `;
          }
          if (records.filter((r) => r.meter === 'jobs').some((r) => r.quantity !== 1))
            mismatch += `${t.id}: a jobs record ≠ 1; `;
          expect(finished.length).toBeGreaterThan(0);
        }
        if (!mismatch) break;
        await sleep(500);
      }
      expect(mismatch).toBe('');
    } finally {
      await platform.close();
    }
    report('metering under faults', { ...result });
  }, 240_000);
});

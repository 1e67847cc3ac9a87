import { describe, expect, it } from 'vitest';
import { waitForOperation } from '../placement/helpers.ts';
import { publishRelease, startRollout, tenantRecord } from '../releases/fixtures.ts';
import { chaosHarness, loadUntilStopped, replayAndCheck, stepAt } from './harness.ts';
import { newLedger, report, SEED, seededRandom, sleep } from './support.ts';

/**
 * SIGKILL during an upgrade: three dedicated tenants under load get a new release in waves (their
 * function processes are replaced by ones on the new code after draining); the server is killed at a
 * random point of the upgrade, starts again on the same DATA_DIR, and the upgrade resumes to its end.
 * Every accepted job ends exactly once (one terminal status, one whole workbook, one notification).
 */
describe('SIGKILL mid-upgrade', () => {
  const chaos = chaosHarness();

  it('resumes the upgrade after a kill, every job ending exactly once', async () => {
    const random = seededRandom(SEED + 7);
    const target = await chaos.start({ env: { SILOPOOL_WORKERS: '1' } });
    const ledger = newLedger();
    await chaos.addTenants(
      ledger,
      [0, 1, 2].map((i) => ({ prefix: `upk${i}`, placement: 'dedicated' as const })),
    );
    publishRelease(target.dataDir, 'r2', {
      models: {
        finance: { version: '1.2.0', body: "version: '1.2.0'" },
        funds: { version: '1.2.0', body: "version: '1.2.0'" },
      },
    });

    const load = loadUntilStopped(target, ledger, { concurrency: 2, max: 60, pauseMs: 100 });
    await sleep(1000);
    const op = await startRollout(target.current(), 'r2', { observeSec: 2 });
    expect(op.waves.map((w) => w.length)).toEqual([1, 2]);
    const killAfterMs = Math.floor(random() * 4000);
    await sleep(killAfterMs);
    const killedIn = await stepAt(target.current(), op.id);
    const restartMs = await target.crashAndRestart();
    const finished = await waitForOperation(target.current(), op.id, 90_000);
    expect(finished.status, `after a kill at ${killAfterMs} ms (${killedIn})`).toBe('succeeded');
    await load.stop();
    const faultsEndedAt = Date.now();
    const server = target.current();
    for (const t of ledger.tenants) expect((await tenantRecord(server, t.id)).release).toBe('r2');

    const result = await replayAndCheck(server, ledger, faultsEndedAt);
    report('sigkill mid-upgrade', { killAfterMs, killedIn, restartMs, ...result });
  }, 240_000);
});

import { describe, expect, it } from 'vitest';
import {
  chaosHarness,
  FAULT_FAILURES,
  loadUntilStopped,
  mixedPlacements,
  replayAndCheck,
} from './harness.ts';
import { newLedger, report, SCALE, SEED, seededRandom, sleep } from './support.ts';

/**
 * SIGKILL of the real server at random points while clients submit (half of them with an
 * Idempotency-Key, retried after the kill) and while jobs run, in shared and dedicated placement; each
 * time the server starts again on the same DATA_DIR. Then the faults stop and the checker proves nothing
 * was lost, doubled, stuck or corrupted, and every notification went out (the crash windows between a
 * job's final commit and its announcement included).
 */
const KILLS = 3 * SCALE;

describe('SIGKILL under load', () => {
  const chaos = chaosHarness();

  it('loses, doubles, strands and corrupts nothing across kills at random points', async () => {
    const random = seededRandom(SEED);
    const target = await chaos.start({ env: { SILOPOOL_WORKERS: '2' } });
    const ledger = newLedger();
    await chaos.addTenants(ledger, mixedPlacements('kill'));

    const load = loadUntilStopped(target, ledger, { concurrency: 4, max: 120 * SCALE, pauseMs: 350 });
    const restarts: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      // Somewhere in the first 2.5 s of the server's life: mid-submit, mid-run, mid-startup recovery.
      await sleep(300 + Math.floor(random() * 2_200));
      restarts.push(await target.crashAndRestart());
    }
    const faultsEndedAt = Date.now();
    const { tried, retries } = await load.stop();
    expect(ledger.accepted.length).toBeGreaterThan(0);

    const result = await replayAndCheck(target.current(), ledger, faultsEndedAt, FAULT_FAILURES);
    report('sigkill under load', { kills: KILLS, tried, retries, restartMs: restarts, ...result });
  }, 240_000);
});

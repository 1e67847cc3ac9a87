import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canMountTmpfs, fillDisk, mountTmpfs, unmount } from '../support/tmpfs.ts';
import {
  chaosHarness,
  FAULT_FAILURES,
  loadUntilStopped,
  mixedPlacements,
  replayAndCheck,
} from './harness.ts';
import { newLedger, report, SCALE, sleep } from './support.ts';

/** The guard: filling a real small filesystem needs a tmpfs mount, which needs root (CI has it). */
const CAN_MOUNT_TMPFS = canMountTmpfs();

/**
 * DATA_DIR on a small tmpfs that is filled to the last byte, several times, while clients submit and jobs
 * run in shared and dedicated placement: submits are refused (507) and retried, job attempts fail on
 * their writes and are retried; once space is back every accepted job ends, and no workbook is short.
 */
describe.skipIf(!CAN_MOUNT_TMPFS)('a full disk under load (a tmpfs as DATA_DIR)', () => {
  let dataDir: string | undefined;
  const chaos = chaosHarness({ afterStop: () => dataDir && unmount(dataDir) });

  it('refuses what it cannot store, and ends every accepted job whole once space is back', async () => {
    dataDir = mountTmpfs('48m')!;
    const target = await chaos.start({
      dataDir,
      env: { SILOPOOL_WORKERS: '2', SILOPOOL_MIN_FREE_BYTES: String(1024 * 1024) },
    });
    const ledger = newLedger();
    await chaos.addTenants(ledger, mixedPlacements('full'));

    const load = loadUntilStopped(target, ledger, { concurrency: 3, max: 150 * SCALE, pauseMs: 100 });
    const ballast = join(dataDir, 'ballast');
    const healthWhileFull: number[] = [];
    for (let cycle = 0; cycle < 2 * SCALE; cycle++) {
      await sleep(1_000);
      fillDisk(ballast);
      healthWhileFull.push((await target.current().api('/healthz')).status);
      await sleep(2_500);
      rmSync(ballast);
    }
    const faultsEndedAt = Date.now();
    const { tried, retries } = await load.stop();
    expect(healthWhileFull.every((s) => s === 503)).toBe(true);

    // A job whose every attempt found the disk full is dead-lettered (or failed by its last attempt).
    const result = await replayAndCheck(target.current(), ledger, faultsEndedAt, FAULT_FAILURES);
    report('full disk', { cycles: 2 * SCALE, tried, retries, ...result });
  }, 180_000);
});

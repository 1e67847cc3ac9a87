import { afterAll, describe, expect, it } from 'vitest';
import { newTenantId } from '../support/server.ts';
import { checkChaos } from './checker.ts';
import { type Receiver, startReceiver } from './receivers.ts';
import {
  type CrashableServer,
  chaosTenant,
  newLedger,
  replayKeyedSubmits,
  report,
  SCALE,
  SEED,
  seededRandom,
  sleep,
  startCrashableServer,
  submitLoad,
} from './support.ts';

/**
 * SIGKILL of the real server at random points while clients submit (half of them with an
 * Idempotency-Key, retried after the kill) and while jobs run, in shared and dedicated placement; each
 * time the server starts again on the same DATA_DIR. Then the faults stop and the checker proves nothing
 * was lost, doubled, stuck or corrupted, and every notification went out (the crash windows between a
 * job's final commit and its announcement included).
 */
const KILLS = 3 * SCALE;

describe('SIGKILL under load', () => {
  let target: CrashableServer;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    // Receivers first: a stop waits out deliveries in flight, which a closed receiver ends at once.
    for (const r of receivers) await r.close();
    await target?.stop();
  });

  it('loses, doubles, strands and corrupts nothing across kills at random points', async () => {
    const random = seededRandom(SEED);
    target = await startCrashableServer({ env: { SILOPOOL_WORKERS: '2' } });
    const ledger = newLedger();
    for (const placement of ['shared', 'shared', 'dedicated'] as const) {
      const receiver = await startReceiver('ok');
      receivers.push(receiver);
      ledger.tenants.push(
        await chaosTenant(target.current(), newTenantId(`kill-${placement.slice(0, 3)}`), {
          placement,
          receiver,
        }),
      );
    }

    let killing = true;
    const load = submitLoad(target, ledger, ledger.tenants, {
      concurrency: 4,
      max: 120 * SCALE,
      until: () => !killing,
      pauseMs: 350,
    });
    const restarts: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      // Somewhere in the first 2.5 s of the server's life: mid-submit, mid-run, mid-startup recovery.
      await sleep(300 + Math.floor(random() * 2_200));
      restarts.push(await target.crashAndRestart());
    }
    killing = false;
    const faultsEndedAt = Date.now();
    const { tried, retries } = await load;
    expect(ledger.accepted.length).toBeGreaterThan(0);
    await replayKeyedSubmits(target.current(), ledger);

    const result = await checkChaos(target.current(), ledger, {
      faultsEndedAt,
      terminalWithinMs: 60_000,
      // A job whose every delivery was cut by a kill is dead-lettered and settled, visibly.
      allowedFailures: ['dead_lettered', 'retries_exhausted'],
    });
    report('sigkill under load', { kills: KILLS, tried, retries, restartMs: restarts, ...result });
  }, 240_000);
});

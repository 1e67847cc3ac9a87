import { afterAll, describe, expect, it } from 'vitest';
import { operation, waitForOperation } from '../placement/helpers.ts';
import { publishRelease, startRollout, tenantRecord } from '../releases/fixtures.ts';
import { newTenantId } from '../support/server.ts';
import { checkChaos } from './checker.ts';
import { type Receiver, startReceiver } from './receivers.ts';
import {
  type CrashableServer,
  chaosTenant,
  newLedger,
  replayKeyedSubmits,
  report,
  SEED,
  seededRandom,
  sleep,
  startCrashableServer,
  submitLoad,
} from './support.ts';

/**
 * SIGKILL during an upgrade: three dedicated tenants under load get a new release in waves (their
 * function processes are replaced by ones on the new code after draining); the server is killed at a
 * random point of the upgrade, starts again on the same DATA_DIR, and the upgrade resumes to its end.
 * Every accepted job ends exactly once (one terminal status, one whole workbook, one notification).
 */
describe('SIGKILL mid-upgrade', () => {
  let target: CrashableServer;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await target?.stop();
  });

  it('resumes the upgrade after a kill, every job ending exactly once', async () => {
    const random = seededRandom(SEED + 7);
    target = await startCrashableServer({ env: { SILOPOOL_WORKERS: '1' } });
    const ledger = newLedger();
    for (let i = 0; i < 3; i++) {
      const receiver = await startReceiver('ok');
      receivers.push(receiver);
      ledger.tenants.push(
        await chaosTenant(target.current(), newTenantId(`upk${i}`), { placement: 'dedicated', receiver }),
      );
    }
    publishRelease(target.dataDir, 'r2', {
      models: {
        finance: { version: '1.2.0', body: "version: '1.2.0'" },
        funds: { version: '1.2.0', body: "version: '1.2.0'" },
      },
    });

    let upgrading = true;
    const load = submitLoad(target, ledger, ledger.tenants, {
      concurrency: 2,
      max: 60,
      until: () => !upgrading,
      pauseMs: 100,
    });
    await sleep(1000);
    const op = await startRollout(target.current(), 'r2', { observeSec: 2 });
    expect(op.waves.map((w) => w.length)).toEqual([1, 2]);
    const killAfterMs = Math.floor(random() * 4000);
    await sleep(killAfterMs);
    const { steps } = await operation(target.current(), op.id);
    const killedIn = steps.find((s) => s.status !== 'done')?.name ?? 'done';
    const restartMs = await target.crashAndRestart();
    const finished = await waitForOperation(target.current(), op.id, 90_000);
    expect(finished.status, `after a kill at ${killAfterMs} ms (${killedIn})`).toBe('succeeded');
    upgrading = false;
    await load;
    const faultsEndedAt = Date.now();
    const server = target.current();
    for (const t of ledger.tenants) expect((await tenantRecord(server, t.id)).release).toBe('r2');
    await replayKeyedSubmits(server, ledger);

    const result = await checkChaos(server, ledger, { faultsEndedAt, terminalWithinMs: 60_000 });
    report('sigkill mid-upgrade', { killAfterMs, killedIn, restartMs, ...result });
  }, 240_000);
});

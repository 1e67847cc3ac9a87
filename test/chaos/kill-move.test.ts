import { afterAll, describe, expect, it } from 'vitest';
import { operation, startMove, waitForOperation } from '../placement/helpers.ts';
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
 * SIGKILL during placement moves: a tenant with a backlog and clients still submitting is promoted to
 * dedicated and demoted back; each move is killed at a random point (provisioning, draining, copying, the
 * switch, the cleanup) and resumes when the server starts again. A second tenant stays shared throughout.
 */
describe('SIGKILL mid-move', () => {
  let target: CrashableServer;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    // Receivers first: a stop waits out deliveries in flight, which a closed receiver ends at once.
    for (const r of receivers) await r.close();
    await target?.stop();
  });

  it('promotes and demotes through kills, leaving every job whole in exactly one place', async () => {
    const random = seededRandom(SEED + 1);
    target = await startCrashableServer({ env: { SILOPOOL_WORKERS: '2' } });
    const ledger = newLedger();
    for (const prefix of ['move', 'stay']) {
      const receiver = await startReceiver('ok');
      receivers.push(receiver);
      ledger.tenants.push(await chaosTenant(target.current(), newTenantId(prefix), { receiver }));
    }
    const [mover] = ledger.tenants;

    const moves: { to: string; killAfterMs: number; killedIn: string; restartMs: number; moveMs: number }[] =
      [];
    for (let round = 0; round < SCALE; round++) {
      for (const to of ['dedicated', 'shared'] as const) {
        // A backlog in the lane being left, and clients submitting while the move runs and dies.
        let moving = true;
        const load = submitLoad(target, ledger, ledger.tenants, {
          concurrency: 2,
          max: 40,
          until: () => !moving,
          pauseMs: 150,
        });
        const server = target.current();
        const startedAt = Date.now();
        const op = await startMove(server, mover!.id, to);
        const killAfterMs = Math.floor(random() * 3_000);
        await sleep(killAfterMs);
        const { steps } = await operation(server, op.id);
        const killedIn = steps.find((s) => s.status !== 'done')?.name ?? 'done';
        const restartMs = await target.crashAndRestart();
        const finished = await waitForOperation(target.current(), op.id, 60_000);
        expect(finished.status, `${to} after a kill at ${killAfterMs} ms`).toBe('succeeded');
        moving = false;
        await load;
        moves.push({ to, killAfterMs, killedIn, restartMs, moveMs: Date.now() - startedAt });
        mover!.placement = to;
      }
    }
    const faultsEndedAt = Date.now();
    const server = target.current();
    const view = (await (
      await server.api(`/v1/admin/tenants/${mover!.id}`, { token: server.operatorToken })
    ).json()) as { placement: string; move?: unknown };
    expect(view).toMatchObject({ placement: 'shared' });
    expect(view.move).toBeUndefined();
    await replayKeyedSubmits(server, ledger);

    const result = await checkChaos(server, ledger, {
      faultsEndedAt,
      terminalWithinMs: 60_000,
      allowedFailures: ['dead_lettered', 'retries_exhausted'],
    });
    report('sigkill mid-move', { moves, ...result });
  }, 240_000);
});

import { describe, expect, it } from 'vitest';
import { startMove, waitForOperation } from '../placement/helpers.ts';
import { chaosHarness, FAULT_FAILURES, loadUntilStopped, replayAndCheck, stepAt } from './harness.ts';
import { newLedger, report, SCALE, SEED, seededRandom, sleep } from './support.ts';

/**
 * SIGKILL during placement moves: a tenant with a backlog and clients still submitting is promoted to
 * dedicated and demoted back; each move is killed at a random point (provisioning, draining, copying, the
 * switch, the cleanup) and resumes when the server starts again. A second tenant stays shared throughout.
 */
describe('SIGKILL mid-move', () => {
  const chaos = chaosHarness();

  it('promotes and demotes through kills, leaving every job whole in exactly one place', async () => {
    const random = seededRandom(SEED + 1);
    const target = await chaos.start({ env: { SILOPOOL_WORKERS: '2' } });
    const ledger = newLedger();
    await chaos.addTenants(ledger, [{ prefix: 'move' }, { prefix: 'stay' }]);
    const [mover] = ledger.tenants;

    const moves: { to: string; killAfterMs: number; killedIn: string; restartMs: number; moveMs: number }[] =
      [];
    for (let round = 0; round < SCALE; round++) {
      for (const to of ['dedicated', 'shared'] as const) {
        // A backlog in the lane being left, and clients submitting while the move runs and dies.
        const load = loadUntilStopped(target, ledger, { concurrency: 2, max: 40, pauseMs: 150 });
        const server = target.current();
        const startedAt = Date.now();
        const op = await startMove(server, mover!.id, to);
        const killAfterMs = Math.floor(random() * 3_000);
        await sleep(killAfterMs);
        const killedIn = await stepAt(server, op.id);
        const restartMs = await target.crashAndRestart();
        const finished = await waitForOperation(target.current(), op.id, 60_000);
        expect(finished.status, `${to} after a kill at ${killAfterMs} ms`).toBe('succeeded');
        await load.stop();
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

    const result = await replayAndCheck(server, ledger, faultsEndedAt, FAULT_FAILURES);
    report('sigkill mid-move', { moves, ...result });
  }, 240_000);
});

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import {
  chaosHarness,
  FAULT_FAILURES,
  loadUntilStopped,
  mixedPlacements,
  replayAndCheck,
} from './harness.ts';
import { newLedger, report, SCALE, sleep } from './support.ts';

/**
 * Messages claimed and not finished (received, visibility not run out, not released) on the queues whose
 * names start with `prefix`: what a function thread or process holds at this moment. Read on a connection
 * of the test's own, as another process would.
 */
function heldClaims(dataDir: string, prefix: string): number {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        `SELECT count(*) AS n FROM messages WHERE substr(queue, 1, length(?)) = ? AND ready = 0
         AND receipt IS NOT NULL AND visible_at > ?`,
      )
      .get(prefix, prefix, Date.now()) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The pid of the tenant's running dedicated function process, once it has one. */
async function dedicatedPid(server: TestServer, tenantId: string): Promise<number | undefined> {
  const res = await server.api('/v1/admin/functions', { token: server.operatorToken });
  const { items } = (await res.json()) as { items: { tenantId: string; pid?: number }[] };
  return items.find((f) => f.tenantId === tenantId && f.pid !== undefined)?.pid;
}

/**
 * SIGKILL of whatever holds claims: the server's process while its function threads (which claim, run
 * and delete their own messages) hold messages mid-run, and a dedicated function process alone while it
 * runs its tenant's job. Then the checker proves every job ended exactly once: none lost, doubled, stuck
 * or corrupted, and every notification out once.
 */
describe('SIGKILL while function threads and processes hold claims', () => {
  const chaos = chaosHarness();

  it('every job ends exactly once', async () => {
    const target = await chaos.start({
      env: { SILOPOOL_WORKERS: '2', SILOPOOL_EVENTS_PER_THREAD: '2' },
    });
    const ledger = newLedger();
    await chaos.addTenants(ledger, mixedPlacements('claims'));
    const dedicated = ledger.tenants.find((t) => t.placement === 'dedicated')!;

    const load = loadUntilStopped(target, ledger, { concurrency: 4, max: 60 * SCALE, pauseMs: 100 });
    const kills = { server: 0, dedicatedProcess: 0 };
    for (let k = 0; k < 2 * SCALE; k++) {
      // The function threads hold claims now: the kill takes them mid-run.
      await until('shared claims held', () => heldClaims(target.dataDir, 'shared_') >= 2);
      await target.crashAndRestart();
      kills.server++;

      // The dedicated function process holds its tenant's claim: killed alone, the server goes on.
      let pid: number | undefined;
      await until('a dedicated claim held by a live function process', async () => {
        pid = await dedicatedPid(await target.ready(), dedicated.id);
        return pid !== undefined && heldClaims(target.dataDir, 'tenant_') >= 1;
      });
      process.kill(pid!, 'SIGKILL');
      kills.dedicatedProcess++;
    }
    const faultsEndedAt = Date.now();
    const { tried, retries } = await load.stop();
    expect(ledger.accepted.length).toBeGreaterThan(0);

    const result = await replayAndCheck(target.current(), ledger, faultsEndedAt, FAULT_FAILURES);
    report('sigkill while claims are held', { ...kills, tried, retries, ...result });
  }, 240_000);
});

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { newTenantId, type TestServer } from '../support/server.ts';
import { checkChaos } from './checker.ts';
import { type Receiver, startReceiver } from './receivers.ts';
import {
  type CrashableServer,
  chaosTenant,
  newLedger,
  replayKeyedSubmits,
  report,
  SCALE,
  sleep,
  startCrashableServer,
  submitLoad,
} from './support.ts';

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
  let target: CrashableServer;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await target?.stop();
  });

  it('every job ends exactly once', async () => {
    target = await startCrashableServer({
      env: { SILOPOOL_WORKERS: '2', SILOPOOL_EVENTS_PER_THREAD: '2' },
    });
    const ledger = newLedger();
    for (const placement of ['shared', 'shared', 'dedicated'] as const) {
      const receiver = await startReceiver('ok');
      receivers.push(receiver);
      ledger.tenants.push(
        await chaosTenant(target.current(), newTenantId(`claims-${placement.slice(0, 3)}`), {
          placement,
          receiver,
        }),
      );
    }
    const dedicated = ledger.tenants.find((t) => t.placement === 'dedicated')!;

    let loading = true;
    const load = submitLoad(target, ledger, ledger.tenants, {
      concurrency: 4,
      max: 60 * SCALE,
      until: () => !loading,
      pauseMs: 100,
    });
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
    loading = false;
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
    report('sigkill while claims are held', { ...kills, tried, retries, ...result });
  }, 240_000);
});

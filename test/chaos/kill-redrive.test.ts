import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { chaosHarness, FAULT_FAILURES, mixedPlacements, replayAndCheck } from './harness.ts';
import { newLedger, report, SEED, seededRandom, sleep, submitLoad } from './support.ts';

/** Messages claimed and not finished on queues whose names start with `prefix` (as kill-claims reads them). */
function heldClaims(dataDir: string, prefix: string): number {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (
      db
        .prepare(
          `SELECT count(*) AS n FROM messages WHERE substr(queue, 1, length(?)) = ? AND ready = 0
           AND receipt IS NOT NULL AND visible_at > ?`,
        )
        .get(prefix, prefix, Date.now()) as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

/** Dead letters on the lane queues' dead-letter queues, read as another process would. */
function deadLetterRows(dataDir: string): number {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (
      db
        .prepare(`SELECT count(*) AS n FROM messages WHERE queue LIKE '%-dlq' AND queue NOT LIKE 'system_%'`)
        .get() as { n: number }
    ).n;
  } finally {
    db.close();
  }
}

type QueueItem = { queue: string; deadLetters: number };

async function queuesWithDeadLetters(server: TestServer): Promise<string[]> {
  const res = await server.api('/v1/admin/queues', { token: server.operatorToken });
  const { items } = (await res.json()) as { items: QueueItem[] };
  return items.filter((q) => !q.queue.startsWith('system_') && q.deadLetters > 0).map((q) => q.queue);
}

/**
 * SIGKILL during a dead-letter redrive: jobs are dead-lettered by a first kill (one receive allowed, so a
 * delivery the kill cut is the message's last), settled as failed; then an operator redrives every queue
 * and the server is killed while the redrive moves letters (a job back to `queued` and its message not yet
 * sent; sent and its letter not yet deleted). After the restart every job must still end exactly once:
 * none stranded `queued` without a message, none run twice, every notification out once.
 */
describe('SIGKILL mid-redrive', () => {
  const chaos = chaosHarness();

  it('every redriven job ends exactly once', async () => {
    const random = seededRandom(SEED + 11);
    const target = await chaos.start({ env: { SILOPOOL_WORKERS: '2', SILOPOOL_MAX_RECEIVES: '1' } });
    const ledger = newLedger();
    await chaos.addTenants(ledger, mixedPlacements('redrive'));

    // Jobs running when the server dies: their messages are dead-lettered, each on its first receive.
    let stop = false;
    const load = submitLoad(target, ledger, ledger.tenants, {
      concurrency: 6,
      max: 80,
      pauseMs: 20,
      until: () => stop,
    });
    const deadline = Date.now() + 20_000;
    while (heldClaims(target.dataDir, '') < 4 && Date.now() < deadline) await sleep(10);
    await target.crashAndRestart();
    stop = true;
    await load;

    let server = target.current();
    // Every job settled (the dead-lettered ones failed), so the letters are all there.
    let queues: string[] = [];
    const settledBy = Date.now() + 30_000;
    for (let open = 1; open > 0 && Date.now() < settledBy; await sleep(250)) {
      open = 0;
      for (const t of ledger.tenants) {
        const res = await server.api('/v1/jobs?limit=100', { token: t.apiKey });
        const { items } = (await res.json()) as { items: { status: string }[] };
        open += items.filter((j) => !['succeeded', 'failed', 'cancelled'].includes(j.status)).length;
      }
    }
    queues = await queuesWithDeadLetters(server);
    const letters = deadLetterRows(target.dataDir);
    expect(letters, 'dead letters to redrive').toBeGreaterThan(1);

    // The redrive of every queue at once, the server killed while it runs.
    const redrives = queues.map((queue) =>
      server
        .api('/v1/admin/dead-letters/redrive', {
          method: 'POST',
          token: server.operatorToken,
          body: JSON.stringify({ queue }),
        })
        .then(
          (res) => res.status,
          () => 'cut',
        ),
    );
    // Killed once the redrive moved some letters and not yet all (or at a random moment if it is quicker).
    const started = Date.now();
    const giveUpAt = started + 5_000 + Math.floor(random() * 20);
    while (deadLetterRows(target.dataDir) === letters && Date.now() < giveUpAt) await sleep(1);
    const killAfterMs = Date.now() - started;
    const lettersAtKill = deadLetterRows(target.dataDir);
    await target.crashAndRestart();
    const answered = await Promise.all(redrives);
    server = target.current();
    const faultsEndedAt = Date.now();

    // A job dead-lettered (announced failed) and redriven to success was rightly told both.
    const result = await replayAndCheck(server, ledger, faultsEndedAt, FAULT_FAILURES, {
      rerunAfterFailure: true,
    });
    report('sigkill mid-redrive', { queues, letters, lettersAtKill, killAfterMs, answered, ...result });
  }, 240_000);
});

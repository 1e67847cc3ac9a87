import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { CLAIM_SQL } from '../../src/adapters/embedded/message-queue-claim.ts';
import { FairScheduler } from '../../src/core/fair-scheduling.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-fair-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshDatabase = () => openDatabase(join(dir, `q${files++}.db`));

const group = fc.constantFrom('t-a', 't-b', 't-c', 't-d');
const op = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      messages: fc.array(
        fc.record({ group, cost: fc.integer({ min: 1, max: 4 }), priority: fc.integer({ min: 0, max: 2 }) }),
        { minLength: 1, maxLength: 8 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('receive' as const),
      max: fc.integer({ min: 1, max: 10 }),
      excluded: fc.uniqueArray(group, { maxLength: 2 }),
    }),
  },
);

describe('SQLite queue claims follow the FairScheduler policy', () => {
  it('hands out exactly what the pure scheduler picks, for any sends, weights and exclusions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.dictionary(group, fc.integer({ min: 1, max: 4 })),
        async (ops, weights) => {
          const db = freshDatabase();
          try {
            const queue = createSqliteMessageQueue(db);
            await queue.createQueue('shared_finance', { visibilityTimeoutSec: 30 });
            const model = new FairScheduler(weights);
            for (const [g, w] of Object.entries(weights)) await queue.setGroupWeight('shared_finance', g, w);
            const bodies = new Map<number, string>();
            for (const o of ops) {
              if (o.kind === 'send') {
                await queue.sendBatch(
                  'shared_finance',
                  o.messages.map((m) => {
                    const item = model.enqueue(m.group, m.cost, m.priority);
                    bodies.set(item.seq, `m${item.seq}`);
                    return { body: `m${item.seq}`, groupId: m.group, cost: m.cost, priority: m.priority };
                  }),
                );
                continue;
              }
              const excluded = new Set(o.excluded);
              const got = await queue.receive('shared_finance', {
                maxMessages: o.max,
                excludeGroups: excluded,
              });
              const expected: string[] = [];
              for (let i = 0; i < o.max; i++) {
                const item = model.pick(excluded);
                if (!item) break;
                expected.push(bodies.get(item.seq)!);
              }
              expect(got.map((m) => m.body)).toEqual(expected);
              for (const m of got) await queue.delete('shared_finance', m.receiptHandle);
            }
          } finally {
            db.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('claims with index searches only, so a deep queue costs O(log n) per claim', () => {
    const db = freshDatabase();
    try {
      for (const sql of Object.values(CLAIM_SQL)) {
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all(...Array.from({ length: sql.split('?').length - 1 }, () => 'q'))
          .map((row) => (row as { detail: string }).detail);
        expect(plan.join('\n'), sql).toMatch(/SEARCH .* USING (COVERING )?INDEX/);
        expect(plan.join('\n'), sql).not.toMatch(/\bSCAN\b|TEMP B-TREE/);
      }
    } finally {
      db.close();
    }
  });

  it('serves a quiet tenant at once behind 30,000 messages of a flooding one', async () => {
    const db = freshDatabase();
    try {
      const queue = createSqliteMessageQueue(db);
      await queue.createQueue('shared_finance', { visibilityTimeoutSec: 30 });
      for (let batch = 0; batch < 300; batch++) {
        await queue.sendBatch(
          'shared_finance',
          Array.from({ length: 100 }, (_, i) => ({ body: `f${batch * 100 + i}`, groupId: 't-flood' })),
        );
      }
      await queue.sendBatch('shared_finance', [
        { body: 'q1', groupId: 't-quiet' },
        { body: 'q2', groupId: 't-quiet' },
      ]);
      const first = await queue.receive('shared_finance', { maxMessages: 4 });
      expect(first.filter((m) => m.groupId === 't-quiet').map((m) => m.body)).toEqual(['q1', 'q2']);
      expect(first.filter((m) => m.groupId === 't-flood').map((m) => m.body)).toEqual(['f0', 'f1']);
    } finally {
      db.close();
    }
  });
});

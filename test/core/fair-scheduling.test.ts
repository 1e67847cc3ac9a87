import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FairScheduler, type QueuedItem } from '../../src/core/fair-scheduling.ts';

const groupName = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const cost = fc.integer({ min: 1, max: 5 });
const weight = fc.integer({ min: 1, max: 8 });

/** Picks until empty, recording the service (sum of costs) per group after every pick. */
function drain(scheduler: FairScheduler): QueuedItem[] {
  const out: QueuedItem[] = [];
  for (let item = scheduler.pick(); item; item = scheduler.pick()) out.push(item);
  return out;
}

describe('FairScheduler (start-time fair queueing)', () => {
  it('gives every quiet tenant its share while one tenant floods 30:1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 }), (quiet, perTenant) => {
        const scheduler = new FairScheduler();
        // The flood is queued first: a global FIFO would run all of it before anyone else.
        for (let i = 0; i < 30 * perTenant; i++) scheduler.enqueue('flood', 1);
        for (let t = 0; t < quiet; t++) for (let i = 0; i < perTenant; i++) scheduler.enqueue(`q${t}`, 1);
        const order = drain(scheduler);
        const tenants = quiet + 1;
        // Equal weights and costs: after n*(tenants) picks each quiet tenant has had its n jobs, plus one round of slack.
        const window = order.slice(0, (perTenant + 1) * tenants);
        for (let t = 0; t < quiet; t++) {
          expect(window.filter((item) => item.group === `q${t}`)).toHaveLength(perTenant);
        }
      }),
    );
  });

  it('bounds the weighted service gap of any two backlogged groups by one job each (the SFQ guarantee)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ group: groupName, cost }), { minLength: 1, maxLength: 200 }),
        fc.dictionary(groupName, weight),
        (jobs, weights) => {
          const scheduler = new FairScheduler(weights);
          for (const job of jobs) scheduler.enqueue(job.group, job.cost);
          const remaining = new Map<string, number>();
          const maxCost = new Map<string, number>();
          for (const job of jobs) {
            remaining.set(job.group, (remaining.get(job.group) ?? 0) + 1);
            maxCost.set(job.group, Math.max(maxCost.get(job.group) ?? 0, job.cost));
          }
          const served = new Map<string, number>();
          for (let item = scheduler.pick(); item; item = scheduler.pick()) {
            served.set(item.group, (served.get(item.group) ?? 0) + item.cost);
            remaining.set(item.group, remaining.get(item.group)! - 1);
            // Groups with jobs left have been backlogged since the start: compare them pairwise.
            const backlogged = [...remaining].filter(([, n]) => n > 0).map(([g]) => g);
            for (const i of backlogged) {
              for (const j of backlogged) {
                const wi = scheduler.weightOf(i);
                const wj = scheduler.weightOf(j);
                const gap = (served.get(i) ?? 0) / wi - (served.get(j) ?? 0) / wj;
                expect(gap).toBeLessThanOrEqual(maxCost.get(i)! / wi + maxCost.get(j)! / wj + 1e-9);
              }
            }
          }
        },
      ),
    );
  });

  it('changes shares in proportion to weights', () => {
    fc.assert(
      fc.property(fc.array(weight, { minLength: 2, maxLength: 5 }), (ws) => {
        const scheduler = new FairScheduler();
        const total = ws.reduce((a, b) => a + b, 0);
        ws.forEach((w, g) => {
          scheduler.setWeight(`g${g}`, w);
          for (let i = 0; i < 10 * total; i++) scheduler.enqueue(`g${g}`, 1);
        });
        // 5 * total picks: every group is still backlogged, and group g should have had 5 * w_g.
        const picks = Array.from({ length: 5 * total }, () => scheduler.pick()!);
        ws.forEach((w, g) => {
          const got = picks.filter((p) => p.group === `g${g}`).length;
          expect(Math.abs(got - 5 * w)).toBeLessThanOrEqual(ws.length);
        });
      }),
    );
  });

  it('starts each group in (priority, send order), whatever the interleaving of enqueues and picks', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('enqueue' as const),
        group: groupName,
        priority: fc.integer({ min: -2, max: 2 }),
      }),
      fc.record({ kind: fc.constant('pick' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const scheduler = new FairScheduler();
        const queued = new Map<string, QueuedItem[]>();
        for (const o of ops) {
          if (o.kind === 'enqueue') {
            const item = scheduler.enqueue(o.group, 1, o.priority);
            queued.set(o.group, [...(queued.get(o.group) ?? []), item]);
            continue;
          }
          const item = scheduler.pick();
          if (!item) continue;
          const mine = queued.get(item.group)!;
          const first = [...mine].sort((x, y) => x.priority - y.priority || x.seq - y.seq)[0]!;
          expect(item.seq).toBe(first.seq);
          queued.set(
            item.group,
            mine.filter((m) => m.seq !== item.seq),
          );
        }
      }),
    );
  });

  it('banks no credit for a group returning from idle', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 2, max: 50 }), (busyRun, burst) => {
        const scheduler = new FairScheduler();
        for (let i = 0; i < busyRun + 4 * burst; i++) scheduler.enqueue('busy', 1);
        // 'sleepy' ran once long ago, then was idle while 'busy' ran alone.
        scheduler.enqueue('sleepy', 1);
        for (let i = 0; i < busyRun; i++) scheduler.pick();
        for (let i = 0; i < burst; i++) scheduler.enqueue('sleepy', 1);
        const next = Array.from({ length: 2 * burst }, () => scheduler.pick()!);
        // Alternating from now on: no catching up on the turns it missed while idle.
        const sleepy = next.filter((p) => p.group === 'sleepy').length;
        expect(sleepy).toBeLessThanOrEqual(burst + 1);
        expect(sleepy).toBeGreaterThanOrEqual(burst - 1);
      }),
    );
  });

  it('is work-conserving: it picks whenever a group that is not excluded has work', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(groupName, fc.boolean()), { maxLength: 100 }),
        fc.uniqueArray(groupName),
        (ops, excludedList) => {
          const scheduler = new FairScheduler();
          const excluded: ReadonlySet<string> = new Set(excludedList);
          for (const [group, pick] of ops) {
            if (!pick) {
              scheduler.enqueue(group);
              continue;
            }
            const eligible = [...scheduler.backlog().keys()].filter((g) => !excluded.has(g));
            const item = scheduler.pick(excluded);
            if (eligible.length === 0) expect(item).toBeUndefined();
            else expect(eligible).toContain(item?.group);
          }
        },
      ),
    );
  });

  it('treats a bad cost or weight as 1 instead of stalling the queue', () => {
    const scheduler = new FairScheduler({ a: Number.NaN, b: -1 });
    scheduler.enqueue('a', Number.POSITIVE_INFINITY);
    scheduler.enqueue('b', 0);
    expect(drain(scheduler).map((i) => i.cost)).toEqual([1, 1]);
    expect(scheduler.weightOf('a')).toBe(1);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { normaliseWeight, startTags } from '../../src/core/fair-scheduling.ts';
import { WEIGHT_MAX, WEIGHT_MIN } from '../../src/core/tenant.ts';

// Issue 11 kind 2, found attacking the fix: a tenant weight of 5e-324 charged cost / weight = Infinity,
// the shared queue's virtual clock became Infinity and stayed so after the setting was undone, and fair
// scheduling turned into strict priority by tenant id for every tenant.
describe('fair scheduling cannot be broken by one tenant setting', () => {
  it('start and finish tags are finite whatever weight, cost and stored clock it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.constantFrom(5e-324, 1e308, Infinity, -Infinity, Number.NaN)),
        fc.oneof(fc.double(), fc.constantFrom(5e-324, 1e308, Infinity, Number.NaN)),
        fc.oneof(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom(Infinity, Number.NaN)),
        fc.oneof(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom(Infinity, Number.NaN)),
        (weight, cost, groupTime, queueTime) => {
          const tags = startTags(groupTime, queueTime, cost, weight);
          expect(Number.isFinite(tags.start)).toBe(true);
          expect(Number.isFinite(tags.finish)).toBe(true);
          expect(tags.finish).toBeGreaterThanOrEqual(tags.start);
        },
      ),
      { seed: 11, numRuns: 2000 },
    );
  });

  it('a weight is held within [WEIGHT_MIN, WEIGHT_MAX]: no tenant outweighs another more than 10,000 times', () => {
    expect(normaliseWeight(5e-324)).toBe(WEIGHT_MIN);
    expect(normaliseWeight(1e308)).toBe(WEIGHT_MAX);
    expect(WEIGHT_MAX / WEIGHT_MIN).toBe(10_000);
  });

  it('a database whose clocks were already made infinite is repaired when opened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-vtime-'));
    try {
      const path = join(dir, 'silopool.sqlite');
      let db = openDatabase(path);
      db.prepare(
        "INSERT INTO queues (name, visibility_timeout_ms, retention_ms, vtime) VALUES ('q', 1000, 1000, 9e999)",
      ).run();
      db.prepare(
        "INSERT INTO queue_groups (queue, grp, vtime) VALUES ('q', 'acme', 9e999), ('q', 'bank', 3)",
      ).run();
      // Back to before the repair (the third migration): it runs again on open, with every later one.
      db.pragma('user_version = 2');
      db.close();
      db = openDatabase(path);
      expect(db.prepare("SELECT vtime FROM queues WHERE name = 'q'").get()).toEqual({ vtime: 0 });
      expect(db.prepare("SELECT grp, vtime FROM queue_groups WHERE queue = 'q' ORDER BY grp").all()).toEqual([
        { grp: 'acme', vtime: 0 },
        { grp: 'bank', vtime: 3 },
      ]);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BUILTIN_RELEASE } from '../../src/core/release.ts';
import type { ReleasePointer } from '../../src/ports/release-pointer.ts';

export type ReleasePointerSetup = () => Promise<{
  /**
   * A pointer on this setup's storage, as one process opens it: each call is another process (its own
   * cache), so what one writes must reach the others. Readers opened here see changes at their next read in
   * a later event-loop turn (the embedded pointer answers the calls of one turn with one stat).
   */
  open(): ReleasePointer;
  /**
   * Stores the pointer as someone outside Silopool might have left it: naming `value` (or, where the storage
   * holds text, `NOT_JSON`: text that is not JSON), with `counter` as what the storage keeps beside it to
   * order changes (DynamoDB's `version`; absent: the attribute missing; the file has none). Answers what
   * the error must name (the file or the item).
   */
  damage(value: unknown, counter?: unknown): Promise<string>;
  teardown(): Promise<void>;
}>;

/** Asks `damage` for stored text that is not JSON, where the storage holds text (the embedded file). */
export const NOT_JSON = Symbol('not JSON');

/** The release pointer's promises: builtin before any release, one value whoever writes, seen by every reader. */
export function describeReleasePointerContract(adapterName: string, setup: ReleasePointerSetup): void {
  describe(`ReleasePointer contract: ${adapterName}`, () => {
    let ctx: Awaited<ReturnType<ReleasePointerSetup>>;
    const release = () => `r-${randomUUID().slice(0, 8)}`;
    beforeEach(async () => {
      ctx = await setup();
    });
    afterEach(async () => {
      await ctx.teardown();
    });

    it('is the built-in release before any release was made current', async () => {
      expect(await ctx.open().current()).toBe(BUILTIN_RELEASE);
    });

    it('reads back what was set, in the writer and in another process', async () => {
      const writer = ctx.open();
      const reader = ctx.open();
      expect(await reader.current()).toBe(BUILTIN_RELEASE);
      const first = release();
      await writer.setCurrent(first);
      expect(await writer.current()).toBe(first);
      expect(await ctx.open().current()).toBe(first);
      const second = release();
      await ctx.open().setCurrent(second);
      expect(await ctx.open().current()).toBe(second);
      expect(await reader.current()).toBe(second);
    });

    it("sees another process's change in the next event-loop turn, its own at once", async () => {
      const reader = ctx.open();
      expect(await reader.current()).toBe(BUILTIN_RELEASE);
      const other = release();
      await ctx.open().setCurrent(other);
      await new Promise((r) => setImmediate(r));
      expect(await reader.current()).toBe(other);
      const own = release();
      await reader.setCurrent(own);
      expect(await reader.current()).toBe(own);
    });

    // The AWS pointer answered `builtin` for an item whose releaseId was a number: every unpinned tenant
    // silently ran other code. Each adapter now fails every read, naming the item or file, until it is fixed.
    it('fails loudly, naming where it is stored, when the stored pointer names no release', async () => {
      for (const value of [5, null, '', 'Not A Release', { id: 'r-1' }, NOT_JSON]) {
        const where = await ctx.damage(value);
        const error = await ctx
          .open()
          .current()
          .catch((e: unknown) => e);
        expect(error, String(value)).toMatchObject({ code: 'release_pointer_damaged', status: 503 });
        expect((error as Error).message).toContain(where);
      }
      // Rolling a release out rewrites it.
      const fixed = release();
      await ctx.open().setCurrent(fixed);
      expect(await ctx.open().current()).toBe(fixed);
    });

    // The DynamoDB pointer's setCurrent compared-and-set on a numeric `version`: an item whose version was a
    // string or missing was taken for no item, put-if-absent failed ten times and the rollout that was to
    // repair it answered 409 "changed ten times".
    it('is rewritten whatever the damage to its change counter', async () => {
      for (const counter of ['1', undefined, null, { n: 1 }, -3, 1.5]) {
        await ctx.damage(5, counter);
        const fixed = release();
        await ctx.open().setCurrent(fixed);
        expect(await ctx.open().current(), String(counter)).toBe(fixed);
        const next = release();
        await ctx.open().setCurrent(next);
        expect(await ctx.open().current()).toBe(next);
      }
    });

    it('ends on one of the values when writers race, and every reader agrees on it', async () => {
      const ids = Array.from({ length: 6 }, release);
      await Promise.all(ids.map((id) => ctx.open().setCurrent(id)));
      const seen = await Promise.all([ctx.open().current(), ctx.open().current(), ctx.open().current()]);
      expect(ids).toContain(seen[0]);
      expect(new Set(seen).size).toBe(1);
    });
  });
}

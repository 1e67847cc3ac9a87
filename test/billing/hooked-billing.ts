import type { BillingItems } from '../../src/ports/billing-items.ts';

/**
 * `billing` with hooks around the first put `when` picks: `before` runs first, `after` once it is stored.
 * Forces an interleaving of a writer and a close against the real store.
 */
export function hookedBilling(
  billing: BillingItems,
  when: (sk: string, doc: unknown) => boolean,
  hooks: { before?: () => Promise<unknown>; after?: () => Promise<unknown> },
): BillingItems {
  let fired = false;
  return {
    put: async (pk, sk, doc, options) => {
      const now = !fired && when(sk, doc);
      if (now) fired = true;
      if (now) await hooks.before?.();
      const stored = await billing.put(pk, sk, doc, options);
      if (now) await hooks.after?.();
      return stored;
    },
    get: (pk, sk) => billing.get(pk, sk),
    query: (pk, prefix) => billing.query(pk, prefix),
    deleteIf: (pk, sk, doc) => billing.deleteIf(pk, sk, doc),
  };
}

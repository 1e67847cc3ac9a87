import type { BillingItems } from '../../ports/billing-items.ts';
import type { SqliteDatabase } from './database.ts';

/** BillingItems on the `billing_items` table (in `jobs.sqlite`, beside the usage ledger). */
export function createSqliteBillingItems(db: SqliteDatabase): BillingItems {
  const insert = db.prepare('INSERT OR IGNORE INTO billing_items (pk, sk, doc) VALUES (?, ?, ?)');
  const upsert = db.prepare('INSERT OR REPLACE INTO billing_items (pk, sk, doc) VALUES (?, ?, ?)');
  const get = db.prepare<[string, string], { doc: string }>(
    'SELECT doc FROM billing_items WHERE pk = ? AND sk = ?',
  );
  // Prefix as a range (`sk >= p AND sk < p || U+FFFF`): no LIKE, so `%` and `_` in a key mean themselves.
  const query = db.prepare<[string, string, string], { doc: string }>(
    'SELECT doc FROM billing_items WHERE pk = ? AND sk >= ? AND sk < ? ORDER BY sk',
  );
  const deleteIf = db.prepare('DELETE FROM billing_items WHERE pk = ? AND sk = ? AND doc = ?');
  return {
    async put(pk, sk, doc, options) {
      return (options?.ifAbsent ? insert : upsert).run(pk, sk, JSON.stringify(doc)).changes > 0;
    },
    async get<T>(pk: string, sk: string) {
      const row = get.get(pk, sk);
      return row ? (JSON.parse(row.doc) as T) : undefined;
    },
    async query<T>(pk: string, skPrefix: string) {
      return query.all(pk, skPrefix, `${skPrefix}\uffff`).map((r) => JSON.parse(r.doc) as T);
    },
    async deleteIf(pk, sk, doc) {
      return deleteIf.run(pk, sk, JSON.stringify(doc)).changes > 0;
    },
  };
}

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Every row of every table of a SQLite file that mentions one of `needles`, but the rows `keep` accepts
 * (an offboarding keeps its own operation: it holds the export's location).
 */
export function rowsMentioning(
  file: string,
  needles: string[],
  keep: (table: string, row: Record<string, unknown>) => boolean = () => false,
): string[] {
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    const hits: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        if (keep(name, row)) continue;
        const text = JSON.stringify(row);
        for (const needle of needles) if (text.includes(needle)) hits.push(`${name}: ${text.slice(0, 200)}`);
      }
    }
    return hits;
  } finally {
    db.close();
  }
}

/** Every path under `dir` whose name mentions one of `needles`. */
export function pathsMentioning(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (needles.some((n) => entry.includes(n))) hits.push(entry);
  }
  return hits;
}

/** Everything of a tenant left in DATA_DIR: rows of the databases and the span file, its dedicated folder, any path. */
export function leftovers(dataDir: string, needles: string[], operationId: string): string[] {
  const keep = (table: string, row: Record<string, unknown>) =>
    table === 'operations' && row.id === operationId;
  return [
    ...rowsMentioning(join(dataDir, 'silopool.sqlite'), needles, keep),
    // Usage records and billing items outlive the tenant on purpose: its last month is still billed
    // (docs/billing.md). They hold ids and counts, none of its inputs, results or settings.
    ...rowsMentioning(join(dataDir, 'jobs.sqlite'), needles, (table) =>
      ['usage_records', 'billing_items'].includes(table),
    ),
    // The span file's erase mark (the id and when, pruned after ten minutes) drops spans a writer still
    // held in a batch when the tenant was erased (src/observability/span-store.ts).
    ...rowsMentioning(join(dataDir, 'traces.sqlite'), needles, (table) => table === 'erased_tenants'),
    ...pathsMentioning(dataDir, needles),
  ];
}

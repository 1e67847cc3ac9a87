import { join } from 'node:path';
import { openDatabase } from '../../src/adapters/embedded/database.ts';

/**
 * Makes every put of a shared tenant's objects fail with `message` (a trigger on the shared job database's
 * `objects` table, where objects up to 1 MiB are rows), as a broken disk would fail that tenant's writes:
 * the running server's next statement sees the new schema. Other tenants are untouched. Returns the repair,
 * which drops the trigger again.
 */
export function failObjectWrites(dataDir: string, tenantId: string, message: string): () => void {
  const path = join(dataDir, 'jobs.sqlite');
  const trigger = `fail_objects_${tenantId.replace(/\W/g, '_')}`;
  const db = openDatabase(path);
  const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
  try {
    db.exec(`CREATE TRIGGER IF NOT EXISTS ${trigger}
      BEFORE INSERT ON objects WHEN substr(NEW.key, 1, ${`tenants/${tenantId}/`.length}) = ${quote(`tenants/${tenantId}/`)}
      BEGIN SELECT RAISE(ABORT, ${quote(message)}); END`);
  } finally {
    db.close();
  }
  return () => {
    const again = openDatabase(path);
    try {
      again.exec(`DROP TRIGGER IF EXISTS ${trigger}`);
    } finally {
      again.close();
    }
  };
}

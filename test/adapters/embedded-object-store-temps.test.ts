import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeStaleTempFiles } from '../../src/adapters/embedded/object-store.ts';

// Found by the chaos suite: a SIGKILL between a write's open and its rename leaves a `~t` file for ever.
const root = mkdtempSync(join(tmpdir(), 'silopool-temps-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('temp files of writes cut short', () => {
  it('are removed when old, while fresh ones (a write in flight) and objects stay', async () => {
    const dir = join(root, 'objects', 'tenants', 'acme', 'jobs');
    mkdirSync(dir, { recursive: true });
    const old = join(dir, 'a1b2~t');
    const fresh = join(dir, 'c3d4~t');
    const object = join(dir, 'workbook.xlsx~o');
    for (const f of [old, fresh, object]) writeFileSync(f, 'x');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(old, hourAgo, hourAgo);
    utimesSync(object, hourAgo, hourAgo);
    expect(await removeStaleTempFiles(root)).toBe(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(existsSync(object)).toBe(true);
  });
});

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The file object store with `fsync` (the power-loss durability of `SILOPOOL_DURABILITY=power`) synced a
 * put's folder after its rename, but not a delete's: after a power loss the deleted file could come back.
 * Where a row shadowed that file (an older, larger version in the SQLite store), the row's delete was
 * durable and the file's was not, so the older version was served again. Read from the system calls the
 * real store makes (strace), as nothing else can observe a power loss here.
 */
const ROOT = new URL('../..', import.meta.url).pathname;
const hasStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const dir = mkdtempSync(join(tmpdir(), 'silopool-delete-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasStrace)('a delete from the file object store with fsync', () => {
  it('syncs the folder of the file it removed', () => {
    const script = join(dir, 'delete.mts');
    writeFileSync(
      script,
      `import { createFileObjectStore } from ${JSON.stringify(join(ROOT, 'src/adapters/embedded/object-store.ts'))};
const store = createFileObjectStore(${JSON.stringify(join(dir, 'objects'))}, { fsync: true });
await store.put('tenants/t1/jobs/j1/workbook.xlsx', new Uint8Array(2_000_000), 'application/x');
process.stderr.write('DELETE-STARTS\\n');
await store.delete('tenants/t1/jobs/j1/workbook.xlsx');
`,
    );
    const trace = join(dir, 'trace.txt');
    const run = spawnSync(
      'strace',
      [
        '-f',
        '-y',
        '-o',
        trace,
        '-e',
        'trace=unlink,unlinkat,fsync,write',
        process.execPath,
        '--import',
        'tsx',
        script,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(trace, 'utf8').split('\n');
    const start = lines.findIndex((l) => l.includes('DELETE-STARTS'));
    const after = lines.slice(start);
    const folder = join(dir, 'objects', 'tenants', 't1', 'jobs');
    const unlinked = after.findIndex((l) => /unlink/.test(l) && l.includes('j1~workbook.xlsx~o'));
    expect(unlinked, 'the object file unlinked').toBeGreaterThanOrEqual(0);
    // Threads interleave under -f: a call may be cut into `fsync(19</dir> <unfinished ...>` and its resumption.
    const synced = after.slice(unlinked).some((l) => /fsync\(\d+<([^>]*)>/.exec(l)?.[1] === folder);
    expect(synced, `no fsync of ${folder} after the unlink:\n${after.join('\n')}`).toBe(true);
  });
});

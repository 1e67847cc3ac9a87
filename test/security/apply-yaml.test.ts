import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTenantsFile } from '../../src/control/apply.ts';
import { ValidationError } from '../../src/core/errors.ts';

// Found attacking the fixes: `silopool apply` printed a raw stack trace for an alias bomb and for a
// duplicate key. A tenants file that is not valid YAML is bad input: a 400-style error naming why.
const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const aliasBomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'tenants: [*e]',
].join('\n');
const duplicateKey = 'tenants:\n  - id: acme-1\n    name: A\n    name: B\n';

describe('a tenants file that is not valid YAML', () => {
  it.each([
    ['an alias bomb', aliasBomb],
    ['a duplicate key', duplicateKey],
    ['a broken document', 'tenants: [\n'],
  ])('%s is a ValidationError naming why', (_what, text) => {
    expect(() => parseTenantsFile(text)).toThrow(ValidationError);
    try {
      parseTenantsFile(text);
    } catch (error) {
      expect((error as ValidationError).message + JSON.stringify((error as ValidationError).details)).toMatch(
        /not valid YAML/,
      );
    }
  });

  it('silopool apply prints one line and exits 1, with no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-yaml-'));
    dirs.push(dir);
    const file = join(dir, 'tenants.yaml');
    writeFileSync(file, aliasBomb);
    const result = await run(process.execPath, [BIN, 'apply', file], {
      env: { ...process.env, DATA_DIR: join(dir, 'data') },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^silopool: .*not valid YAML/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // The file is checked before DATA_DIR is opened: a bad file makes no data folder either.
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });
});

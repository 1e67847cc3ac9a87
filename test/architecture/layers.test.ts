import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importGraph, layerViolations } from '../../scripts/check-layers.ts';

const root = mkdtempSync(join(tmpdir(), 'silopool-layers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(root, 'src-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('the layer check (npm run layers)', () => {
  it('names every import from a layer below the API into api/, type-only ones too', async () => {
    const src = tree({
      'api/deps.ts': 'export interface Hooks { a: number }\nexport const x = 1;\n',
      'control/hooks.ts': "import type { Hooks } from '../api/deps.ts';\nexport const h: Hooks = { a: 1 };\n",
      'core/job.ts': "import { x } from '../api/deps.ts';\nexport const y = x;\n",
      'entry/server.ts':
        "import { x } from '../api/deps.ts';\nimport { y } from '../core/job.ts';\nexport const z = x + y;\n",
      'api/app.ts': "import { y } from '../core/job.ts';\nexport const w = y;\n",
    });
    const violations = layerViolations(await importGraph(src));
    expect(violations).toEqual(
      expect.arrayContaining([
        { from: 'control/hooks.ts', to: 'api/deps.ts' },
        { from: 'core/job.ts', to: 'api/deps.ts' },
      ]),
    );
    expect(violations).toHaveLength(2);
  });

  it('passes a tree where only the API and the entry points import api/', () => {
    expect(
      layerViolations({
        'api/app.ts': ['control/submit-job.ts', 'core/job.ts'],
        'entry/server.ts': ['api/app.ts'],
        'cli/main.ts': ['api/auth/issuer.ts'],
        'control/submit-job.ts': ['core/job.ts', 'ports/job-intake.ts'],
        'adapters/embedded/job-intake.ts': ['ports/job-intake.ts'],
      }),
    ).toEqual([]);
  });

  it('treats a folder merely named like a layer elsewhere as no layer', () => {
    expect(layerViolations({ 'web/api/x.ts': ['api/app.ts'], 'runtime/x.ts': ['runtime/api/y.ts'] })).toEqual(
      [],
    );
  });
});

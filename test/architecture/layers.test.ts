import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importGraph, LAYERS, layerViolations, unplacedFiles } from '../../scripts/check-layers.ts';

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

  it('names an import of a higher layer anywhere, not only of api/ (models → ports, functions → runtime)', async () => {
    const src = tree({
      'ports/release-pointer.ts': 'export interface ReleasePointer { current(): Promise<string> }\n',
      'models/release-catalog.ts':
        "import type { ReleasePointer } from '../ports/release-pointer.ts';\nexport const open = (p: ReleasePointer) => p;\n",
      'runtime/host.ts': 'export const host = 1;\n',
      'functions/handler.ts': "import { host } from '../runtime/host.ts';\nexport const h = host;\n",
      'core/job.ts': "import { h } from '../functions/handler.ts';\nexport const j = h;\n",
    });
    expect(layerViolations(await importGraph(src))).toEqual([
      { from: 'core/job.ts', to: 'functions/handler.ts' },
      { from: 'functions/handler.ts', to: 'runtime/host.ts' },
      { from: 'models/release-catalog.ts', to: 'ports/release-pointer.ts' },
    ]);
  });

  it('lets only adapters and the entry points import adapters/, whatever the importer’s rank', () => {
    const graph = {
      'models/release-catalog.ts': ['adapters/embedded/release-pointer.ts'],
      'observability/span-store.ts': ['adapters/embedded/data-dir.ts'],
      'runtime/function-process.ts': ['adapters/embedded/database.ts'],
      'control/tenants.ts': ['adapters/aws/queue.ts'],
      'api/app.ts': ['adapters/embedded/job-store.ts'],
      'client/index.ts': ['adapters/embedded/database.ts'],
      // Allowed: wiring, the CLI, one adapter using another, an adapter using observability (same rank).
      'entry/function-process.ts': ['adapters/embedded/database.ts'],
      'cli/operator.ts': ['adapters/embedded/data-dir.ts'],
      'adapters/embedded/job-store.ts': ['adapters/embedded/database.ts', 'ports/job-store.ts'],
      'adapters/embedded/operation-store.ts': ['observability/span-store.ts'],
    };
    expect(layerViolations(graph).map((v) => v.from)).toEqual([
      'models/release-catalog.ts',
      'observability/span-store.ts',
      'runtime/function-process.ts',
      'control/tenants.ts',
      'api/app.ts',
      'client/index.ts',
    ]);
  });

  it('lets the API call the control plane but never the reverse, as the table says', () => {
    expect(LAYERS.api?.alsoImports).toEqual(['control']);
    expect(
      layerViolations({
        'api/routes/models.ts': ['control/submit-job.ts'],
        'control/submit-job.ts': ['api/deps.ts', 'ports/control-hooks.ts'],
        'runtime/host.ts': ['control/meter.ts'],
        'entry/server.ts': ['control/tenants.ts', 'api/app.ts', 'cli/args.ts'],
      }),
    ).toEqual([
      { from: 'control/submit-job.ts', to: 'api/deps.ts' },
      { from: 'runtime/host.ts', to: 'control/meter.ts' },
    ]);
  });

  it('names the files of a folder the table does not rank, and files at the source root', () => {
    expect(
      unplacedFiles({
        'core/job.ts': [],
        'index.ts': ['core/job.ts'],
        'plugins/extra.ts': ['adapters/embedded/database.ts'],
        'entry/server.ts': ['plugins/extra.ts'],
      }),
    ).toEqual(['index.ts', 'plugins/extra.ts']);
  });
});

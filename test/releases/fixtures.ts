import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';

/**
 * Publishes a release into a server's `DATA_DIR/releases/{id}/`: `release.json` and one ES module per
 * model or variant, given as the body of `(base) => ({ ...base, … })` (the platform's model is `base`).
 */
export function publishRelease(
  dataDir: string,
  id: string,
  release: {
    models?: Record<string, { version: string; body: string }>;
    variants?: {
      name: string;
      model: string;
      tenantId: string;
      /** The owner's `incarnation` (absent: a manifest without one, which does not load). */
      tenantIncarnation?: string;
      version: string;
      body: string;
    }[];
  },
): void {
  const dir = join(dataDir, 'releases', id);
  mkdirSync(dir, { recursive: true });
  const manifest: Record<string, unknown> = { id, description: `test release ${id}` };
  if (release.models) {
    manifest.models = Object.fromEntries(
      Object.entries(release.models).map(([name, m]) => {
        writeFileSync(join(dir, `${name}.mjs`), `export default (base) => ({ ...base, ${m.body} });\n`);
        return [name, { version: m.version, module: `${name}.mjs` }];
      }),
    );
  }
  if (release.variants) {
    manifest.variants = release.variants.map((v) => {
      writeFileSync(join(dir, `${v.name}.mjs`), `export default (base) => ({ ...base, ${v.body} });\n`);
      return {
        name: v.name,
        model: v.model,
        tenantId: v.tenantId,
        ...(v.tenantIncarnation !== undefined ? { tenantIncarnation: v.tenantIncarnation } : {}),
        version: v.version,
        module: `${v.name}.mjs`,
      };
    });
  }
  writeFileSync(join(dir, 'release.json'), JSON.stringify(manifest, null, 2));
}

export interface RolloutView {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  progress: number;
  release: string;
  waves: string[][];
  steps: { name: string; status: string; detail?: string }[];
  error?: { code: string; message: string };
}

export async function startRollout(
  server: TestServer,
  release: string,
  body: Record<string, unknown> = {},
): Promise<RolloutView> {
  const res = await server.api(`/v1/admin/releases/${release}/rollout`, {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify(body),
  });
  if (res.status !== 202) throw new Error(`rollout: ${res.status} ${await res.text()}`);
  return (await res.json()) as RolloutView;
}

export async function tenantRecord(server: TestServer, id: string): Promise<Record<string, unknown>> {
  const res = await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

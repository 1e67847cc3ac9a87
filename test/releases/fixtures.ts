import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { newOperation } from '../../src/control/operations.ts';
import {
  createRolloutRunner,
  type RolloutDeps,
  type RolloutRunner,
} from '../../src/control/release-rollout.ts';
import { type ControlDeps, createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import type { Placement } from '../../src/core/tenant.ts';
import {
  type EmbeddedPlatform,
  openEmbeddedPlatform,
  openEmbeddedReleaseCatalog,
} from '../../src/entry/embedded-wiring.ts';
import type { Operation, OperationStore } from '../../src/ports/operation-store.ts';
import { waitForOperation } from '../placement/helpers.ts';
import { newTenantId, type TestServer } from '../support/server.ts';

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

/**
 * A dedicated tenant (its function at `memoryMb`, on the enterprise plan) whose finance model runs a variant
 * of its own, released as `release` and rolled out: `body` is the variant module's, as `publishRelease` takes
 * it. Resolves with the tenant and the variant's name once the rollout succeeded.
 */
export async function dedicatedTenantWithVariant(
  server: TestServer,
  release: string,
  options: { prefix: string; memoryMb: number; body: string },
): Promise<{ id: string; apiKey: string; variant: string }> {
  const id = newTenantId(options.prefix);
  const { apiKey } = await server.createTenant(id, {
    placement: 'dedicated',
    plan: 'enterprise',
    config: { function: { memoryMb: options.memoryMb } },
  });
  const variant = `finance-${id}`;
  publishRelease(server.dataDir, release, {
    variants: [
      {
        name: variant,
        model: 'finance',
        tenantId: id,
        tenantIncarnation: String((await tenantRecord(server, id)).incarnation),
        version: '1.1.3',
        body: options.body,
      },
    ],
  });
  const op = await startRollout(server, release, { observeSec: 0 });
  expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
  return { id, apiKey, variant };
}

/** An embedded platform of its own for each rollout test (`rolloutPlatform`), read after `beforeEach`. */
export interface RolloutPlatform {
  /** The temp data folder; releases are published under `{dir}/releases`. */
  dir: string;
  platform: EmbeddedPlatform;
  operations: OperationStore;
  /** The platform's directory, queue and stores: what control functions take. */
  deps: Pick<ControlDeps, 'directory' | 'queue' | 'stores'>;
  /** The test's upgrade runner, stopped after the test (a test that stops it itself sets it undefined). */
  runner: RolloutRunner | undefined;
}

/**
 * Registers the hooks of a rollout test file: before each test a temp folder (named from `prefix`), an
 * embedded platform on it and its operation store; after it, the test's runner stopped, the platform closed
 * and the folder removed. Answers the object whose fields the hooks set.
 */
export function rolloutPlatform(prefix: string): RolloutPlatform {
  const rig = { runner: undefined } as RolloutPlatform;
  beforeEach(() => {
    rig.dir = mkdtempSync(join(tmpdir(), prefix));
    rig.platform = openEmbeddedPlatform(rig.dir);
    rig.operations = createSqliteOperationStore(rig.platform.db);
    rig.deps = { directory: rig.platform.directory, queue: rig.platform.queue, stores: rig.platform.stores };
  });
  afterEach(async () => {
    await rig.runner?.stop();
    rig.runner = undefined;
    await rig.platform.close();
    rmSync(rig.dir, { recursive: true, force: true });
  });
  return rig;
}

/** An upgrade runner on the rig's platform and its releases folder, with `options` over those. */
export function rolloutRunner(rig: RolloutPlatform, options: Partial<RolloutDeps> = {}): RolloutRunner {
  return createRolloutRunner({
    ...rig.deps,
    operations: rig.operations,
    catalog: openEmbeddedReleaseCatalog(join(rig.dir, 'releases')),
    ...options,
  });
}

/** Polls `check` every 20 ms until it answers true; throws after `ms`. */
export async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `n` dedicated tenants on the rig, their ids sorted: the first is the canary (wave 1), the next two wave 2, … */
export async function dedicatedTenants(rig: RolloutPlatform, prefix: string, n: number): Promise<TenantId[]> {
  const ids: TenantId[] = [];
  for (const letter of 'abcdefgh'.slice(0, n)) {
    const id = `${prefix}-${letter}-${Math.random().toString(36).slice(2, 8)}` as TenantId;
    await createTenant(rig.deps, { id, name: letter.toUpperCase(), placement: 'dedicated' });
    ids.push(id);
  }
  return ids;
}

/** A move of `id` under way (its operation running, `move` on the tenant), as move-tenant.ts begins one. */
export async function beginMove(
  rig: RolloutPlatform,
  id: TenantId,
  from: Placement,
  to: Placement,
): Promise<Operation> {
  const move = newOperation('move', id, ['drain'], { from, to });
  await rig.operations.create(move);
  const tenant = (await rig.platform.directory.get(id))!;
  await rig.platform.directory.update(
    { ...tenant, move: { operationId: move.id, from, to, phase: 'draining' }, version: tenant.version + 1 },
    tenant.version,
  );
  return move;
}

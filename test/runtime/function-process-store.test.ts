import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { functionSettingsFor } from '../../src/core/tenant.ts';
import { createProcessRuntime } from '../../src/runtime/process-runtime.ts';
import { makeTenant, randomTenantId } from '../contract/fixtures.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a dedicated function process', () => {
  it('started without its store (the tenant demoted or offboarded meanwhile) ends and does not make it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-fn-store-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const tenantId = randomTenantId();
    const tenant = makeTenant(tenantId, { placement: 'dedicated' });
    const storeDir = join(dataDir, 'tenants', tenantId);
    const errors: unknown[] = [];
    const runtime = createProcessRuntime({
      name: `tenant_${tenantId}_finance`,
      tenantId,
      model: 'finance',
      settings: functionSettingsFor(tenant),
      child: { tenantId, storeDir },
      tenant: async () => tenant,
      send: async () => undefined,
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => runtime.close());
    const event: SQSEvent = { Records: [] };
    await expect(runtime.invoke(event)).rejects.toThrow(/exited .* before it was ready/);
    expect(existsSync(storeDir)).toBe(false);
  }, 30_000);
});

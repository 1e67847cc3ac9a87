import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { TenantId } from '../../src/core/ids.ts';
import { type FunctionSettings, functionSettingsFor } from '../../src/core/tenant.ts';
import {
  createProcessRuntime,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
} from '../../src/runtime/process-runtime.ts';
import { makeTenant } from '../contract/fixtures.ts';
import { tempDir } from './stand-in.ts';

// Dedicated function runtimes for tests, each closed after its test: one of tenant `t` for a stand-in
// process (forkPrebuilt mocked, stand-in.ts), or one of a real dedicated tenant for the prebuilt bundle.

const runtimes: ProcessRuntime[] = [];
afterEach(async () => {
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
});

/** The settings of a stand-in's function: one event at a time, 128 MB, 10 s an event, idle for 60 s, not provisioned. */
export const STAND_IN_SETTINGS: FunctionSettings = {
  reservedConcurrency: 1,
  memoryMb: 128,
  timeoutSec: 10,
  idleTimeoutSec: 60,
  provisionedConcurrency: 0,
};

/** ProcessRuntimeOptions to override, its settings one by one, and the store folder its process is given. */
export type RuntimeOverrides = Partial<Omit<ProcessRuntimeOptions, 'settings' | 'child'>> & {
  settings?: Partial<FunctionSettings>;
  storeDir?: string;
};

function runtimeOf(base: ProcessRuntimeOptions, { settings, storeDir, ...rest }: RuntimeOverrides) {
  const runtime = createProcessRuntime({
    ...base,
    ...rest,
    settings: { ...base.settings, ...settings },
    child: { ...base.child, ...(storeDir !== undefined ? { storeDir } : {}) },
  });
  runtimes.push(runtime);
  return runtime;
}

/**
 * The function `tenant_t_finance` of tenant `t` with STAND_IN_SETTINGS: its process is what forkPrebuilt
 * forks (a stand-in in a test file that mocks it), given a store folder of its own; the tenant record sent
 * with events is none, sends do nothing.
 */
export function standInRuntime(overrides: RuntimeOverrides = {}): ProcessRuntime {
  const tenantId = 't' as TenantId;
  return runtimeOf(
    {
      name: 'tenant_t_finance',
      tenantId,
      model: 'finance',
      settings: STAND_IN_SETTINGS,
      child: { tenantId, storeDir: tempDir('silopool-stand-in-store-') },
      tenant: async () => undefined,
      send: async () => undefined,
    },
    overrides,
  );
}

/**
 * The finance function of dedicated tenant `tenantId` with the tenant's default settings, its store folder
 * `dataDir/tenants/{tenantId}` (the embedded layout), its record sent with events.
 */
export function tenantRuntime(
  tenantId: TenantId,
  dataDir: string,
  overrides: RuntimeOverrides = {},
): ProcessRuntime {
  const tenant = makeTenant(tenantId, { placement: 'dedicated' });
  return runtimeOf(
    {
      name: `tenant_${tenantId}_finance`,
      tenantId,
      model: 'finance',
      settings: functionSettingsFor(tenant),
      child: { tenantId, storeDir: join(dataDir, 'tenants', tenantId) },
      tenant: async () => tenant,
      send: async () => undefined,
    },
    overrides,
  );
}

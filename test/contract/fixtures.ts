import { randomUUID } from 'node:crypto';
import { type JobId, newJobId, type TenantId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';

/** A fresh tenant id per test, so suites can share one backend (one DynamoDB table, one bucket). */
export function randomTenantId(prefix = 't'): TenantId {
  return `${prefix}-${randomUUID().slice(0, 8)}` as TenantId;
}

export function randomName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function makeJob(
  tenantId: TenantId,
  overrides: Partial<JobRecord> & { createdAtMs?: number } = {},
): JobRecord {
  const { createdAtMs, ...rest } = overrides;
  const at = createdAtMs ?? Date.now();
  const iso = new Date(at).toISOString();
  return {
    id: newJobId(at) as JobId,
    tenantId,
    model: 'finance',
    modelVersion: '1.0.0',
    status: 'queued',
    input: { years: 5 },
    effectiveInput: { years: 5 },
    rules: {},
    artifacts: [],
    attempts: 0,
    cost: 1,
    priority: 0,
    createdAt: iso,
    updatedAt: iso,
    version: 1,
    ...rest,
  };
}

export function makeTenant(id: TenantId, overrides: Partial<Tenant> = {}): Tenant {
  const now = new Date().toISOString();
  return {
    id,
    name: `Tenant ${id}`,
    status: 'active',
    placement: 'shared',
    plan: 'standard',
    config: emptyConfig(),
    apiKeys: [],
    createdAt: now,
    updatedAt: now,
    version: 1,
    ...overrides,
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it stops throwing: for counts that backends report eventually (SQS approximate depth). */
export async function eventually(check: () => Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

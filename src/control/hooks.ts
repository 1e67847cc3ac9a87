import type { ControlHooks } from '../api/deps.ts';
import { createAdmission } from './admission.ts';
import type { TenantMetrics } from './metrics.ts';
import type { ControlDeps } from './tenants.ts';

/** The control plane's per-request hooks the API calls (admission: quotas and rate limits). */
export function createControlHooks(deps: ControlDeps & { metrics?: TenantMetrics }): ControlHooks {
  const admission = createAdmission({
    queue: deps.queue,
    onThrottled: (tenantId, reason) => deps.metrics?.recordThrottle(tenantId, reason),
  });
  return { admitSubmit: (tenant) => admission.admitSubmit(tenant) };
}

import type { ControlHooks } from '../api/deps.ts';
import type { ControlDeps } from './tenants.ts';

/** The control plane's per-request hooks the API calls (admission: quotas and rate limits). */
export function createControlHooks(_deps: ControlDeps): ControlHooks {
  return {};
}

import { ConditionFailedError } from '../core/errors.ts';

/** Tries before a compare-and-set gives up with the last `ConditionFailedError` (ten lost races in a row). */
export const CAS_ATTEMPTS = 10;

/**
 * The one compare-and-set loop of the control plane: runs `attempt` — which reads a record and writes it
 * back conditioned on the version it read (`TenantDirectory.update`, `TenantJobStore.update`) — again each
 * time it loses the race (`ConditionFailedError`), so each try re-reads what it then writes. Answers what
 * the winning try answers; any other error ends it at once; after `attempts` lost races in a row it throws
 * the last `ConditionFailedError` (409 `condition_failed`) rather than spin against a writer that never
 * stops winning.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, attempts = CAS_ATTEMPTS): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConditionFailedError) || tried >= attempts) throw error;
    }
  }
}

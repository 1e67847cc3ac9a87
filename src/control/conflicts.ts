import { ConditionFailedError } from '../core/errors.ts';

/**
 * Runs `attempt` again each time it loses a compare-and-set race (`ConditionFailedError`), so each try
 * re-reads what it then writes; any other error ends it. Every loss means another writer won, so under
 * a bounded number of writers the loop ends.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
}

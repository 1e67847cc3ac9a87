import { InvalidArgumentError } from 'commander';
import { DEFAULT_TOKEN_LIFETIMES, lifetimeSeconds } from '../core/token-lifetime.ts';
import { CliError } from './errors.ts';
import type { Operator } from './operator.ts';

const MAX_HOURS = DEFAULT_TOKEN_LIFETIMES.maxSec / 3600;

/**
 * `--expires`: a whole number and a unit, 1s at least; `0s`, `-5m` or `1.5h` are refused here with the
 * allowed range. The upper bound is the server's (SILOPOOL_TOKEN_MAX_LIFETIME, 24h unless configured), which
 * it checks and names in its answer.
 */
export function lifetime(value: string): string {
  if (lifetimeSeconds(value) === undefined) {
    throw new InvalidArgumentError(
      `"${value}" is not a token lifetime: use 1s to ${MAX_HOURS}h (the server's maximum), a whole number and s, m, h or d, like 15m or 12h.`,
    );
  }
  return value;
}

/** The ids, once each names a tenant that exists; a token for a missing tenant would grant nothing. */
export async function existingTenants(op: Operator, ids: string[]): Promise<string[]> {
  for (const id of ids) {
    try {
      await op.getTenant(id);
    } catch (error) {
      const missing =
        error instanceof CliError && (error.problem?.status === 404 || error.message.startsWith('No tenant'));
      if (!missing) throw error;
      throw new CliError(
        `No tenant "${id}": a token for it would grant nothing. See the tenants with \`silopool tenants list\`, or create it with \`silopool tenants create ${id} --name …\`.`,
        { problem: { status: 404, title: `No tenant "${id}"`, code: 'not_found' } },
      );
    }
  }
  return ids;
}

import { DEFAULT_POLICY } from '../core/advisor.ts';
import { ConfigError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';
import type { OperationStore } from '../ports/operation-store.ts';

/**
 * When an operator last set each tenant's current placement (ms since the epoch): the end of its last
 * successful move to that placement, or its onboarding when it was created dedicated (shared is the
 * default, not a choice). Tenants with neither are left out.
 */
export async function placementDecisions(
  operations: Pick<OperationStore, 'listByTenant'>,
  tenants: readonly Tenant[],
): Promise<Map<string, number>> {
  const decided = new Map<string, number>();
  for (const tenant of tenants) {
    const moves = (await operations.listByTenant(tenant.id as TenantId)).filter(
      (op) => op.kind === 'move' && op.status === 'succeeded' && op.params.to === tenant.placement,
    );
    const lastMove = Math.max(...moves.map((op) => Date.parse(op.updatedAt)));
    const onboarded =
      tenant.placement === 'dedicated' ? Date.parse(tenant.createdAt) : Number.NEGATIVE_INFINITY;
    const at = Math.max(lastMove, onboarded);
    if (Number.isFinite(at)) decided.set(tenant.id, at);
  }
  return decided;
}

/**
 * `SILOPOOL_ADVISOR_RESPECT_DAYS` (default 7; 0 turns it off): how long the advisor leaves an operator's
 * placement alone, in ms. Throws ConfigError naming the variable when it is not a number of days.
 */
export function respectOperatorMsFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.SILOPOOL_ADVISOR_RESPECT_DAYS;
  if (raw === undefined || raw === '') return DEFAULT_POLICY.respectOperatorMs;
  const days = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !Number.isFinite(days))
    throw new ConfigError(
      'SILOPOOL_ADVISOR_RESPECT_DAYS',
      `SILOPOOL_ADVISOR_RESPECT_DAYS must be a number of days (0 or more), not "${raw}"`,
    );
  return days * 86_400_000;
}

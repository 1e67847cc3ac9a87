import type { TenantId } from './ids.ts';
import type { Placement, Tenant } from './tenant.ts';

/** Where a (tenant, model) pair's jobs go and run. */
export interface Lane {
  placement: Placement;
  model: string;
  /** Queue name; `_` separates parts because tenant ids and model names cannot contain it. */
  queue: string;
  functionName: string;
  /** Which data store and object root hold the tenant's jobs: the shared one or the tenant's own. */
  store: StoreRef;
}

export type StoreRef = { kind: 'shared' } | { kind: 'dedicated'; tenantId: TenantId };

export function sharedQueueName(model: string): string {
  return `shared_${model}`;
}

export function dedicatedQueueName(tenantId: TenantId, model: string): string {
  return `tenant_${tenantId}_${model}`;
}

export function laneForPlacement(tenantId: TenantId, placement: Placement, model: string): Lane {
  if (placement === 'shared') {
    return {
      placement,
      model,
      queue: sharedQueueName(model),
      functionName: `fn_shared_${model}`,
      store: { kind: 'shared' },
    };
  }
  return {
    placement,
    model,
    queue: dedicatedQueueName(tenantId, model),
    functionName: `fn_tenant_${tenantId}_${model}`,
    store: { kind: 'dedicated', tenantId },
  };
}

/**
 * The lane new jobs of this tenant go to now. During a move, new jobs already go to the target lane
 * once the move has switched sends (phase past `provisioned`).
 */
export function laneFor(tenant: Pick<Tenant, 'id' | 'placement' | 'move'>, model: string): Lane {
  const move = tenant.move;
  const sendTo = move && move.phase !== 'provisioning' && move.phase !== 'provisioned' ? move.to : tenant.placement;
  return laneForPlacement(tenant.id, sendTo, model);
}

/** Where this tenant's job records are read from now; switches only when a move has verified its copy. */
export function storeFor(tenant: Pick<Tenant, 'id' | 'placement' | 'move'>): StoreRef {
  return laneForPlacement(tenant.id, tenant.placement, '').store;
}

export function parseQueueName(queue: string): { tenantId?: TenantId; model: string } | undefined {
  const shared = /^shared_([a-z0-9]+)$/.exec(queue);
  if (shared) return { model: shared[1]! };
  const dedicated = /^tenant_([a-z0-9][a-z0-9-]{1,62})_([a-z0-9]+)$/.exec(queue);
  if (dedicated) return { tenantId: dedicated[1] as TenantId, model: dedicated[2]! };
  return undefined;
}

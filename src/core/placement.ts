import { parseTenantId, type TenantId } from './ids.ts';
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
  // The brand is a compile-time promise; an id read back from a record is checked before it names a queue.
  return dedicatedQueueNameOf(parseTenantId(tenantId, '/tenantId'), model);
}

/**
 * The same name for a tenant id that is not known yet: a template's deploy-time parameter
 * (infra/tenant-stack.ts), which CloudFormation fills in. Everything else uses `dedicatedQueueName`.
 */
export function dedicatedQueueNameOf(tenantId: string, model: string): string {
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
 * Phases of a placement move, in order; `tenant.move.phase` holds one of them. Routing changes once, when
 * the phase leaves `provisioning`: from then on new jobs (their message AND their record) go to the target.
 * The switch of reads clears `move` and sets `placement` in one compare-and-set.
 */
export const MOVE_PHASES = ['provisioning', 'draining', 'copying', 'verifying'] as const;
export type MovePhase = (typeof MOVE_PHASES)[number];

type Routable = Pick<Tenant, 'id' | 'placement' | 'move'>;

/** True once a move sends new jobs to its target (every phase after `provisioning`). */
export function sendsToTarget(tenant: Routable): boolean {
  return tenant.move !== undefined && tenant.move.phase !== 'provisioning';
}

/** The lane new jobs of this tenant go to now; during a move, the target lane once sends have switched. */
export function laneFor(tenant: Routable, model: string): Lane {
  const sendTo = sendsToTarget(tenant) ? tenant.move!.to : tenant.placement;
  return laneForPlacement(tenant.id, sendTo, model);
}

/**
 * Where a tenant's job records go. `create` is where a new job's record (and later its artifacts) is
 * written: always the store of the lane `laneFor` sends its message to, so the function that runs a job
 * finds its record in its own store. `lookup` is the order reads try (target first: it holds new jobs and,
 * after the copy, every job). `keys` is where Idempotency-Keys are claimed: the source first (it holds the
 * keys from before the move), then the target, so a key is written to both during a move.
 */
export interface RecordRouting {
  create: StoreRef;
  lookup: StoreRef[];
  keys: StoreRef[];
}

export function recordRoutingFor(tenant: Routable): RecordRouting {
  const home = laneForPlacement(tenant.id, tenant.placement, '').store;
  if (!sendsToTarget(tenant)) return { create: home, lookup: [home], keys: [home] };
  const target = laneForPlacement(tenant.id, tenant.move!.to, '').store;
  return { create: target, lookup: [target, home], keys: [home, target] };
}

/** The tenant's home store: where its records live outside a move (and the source during one). */
export function storeFor(tenant: Routable): StoreRef {
  return laneForPlacement(tenant.id, tenant.placement, '').store;
}

export function parseQueueName(queue: string): { tenantId?: TenantId; model: string } | undefined {
  const shared = /^shared_([a-z0-9]+)$/.exec(queue);
  if (shared) return { model: shared[1]! };
  const dedicated = /^tenant_([a-z0-9][a-z0-9-]{1,62})_([a-z0-9]+)$/.exec(queue);
  if (dedicated) return { tenantId: dedicated[1] as TenantId, model: dedicated[2]! };
  return undefined;
}

/**
 * The store a message's job record lives in, from the lane (queue) the message came from: a job's
 * message and record are routed from the same tenant snapshot, and a lane is drained before its store
 * is copied, so a dedicated lane's jobs are in the tenant's own store and a shared lane's in the shared
 * one, during moves too. Undefined when the queue is not a lane of this tenant.
 */
export function laneStoreOf(queue: string, tenantId: TenantId): StoreRef | undefined {
  const lane = parseQueueName(queue);
  if (!lane) return undefined;
  if (lane.tenantId === undefined) return { kind: 'shared' };
  return lane.tenantId === tenantId ? { kind: 'dedicated', tenantId } : undefined;
}

/** Outside a move, a lane of the tenant's own placement holds all its jobs: no lookup needed. */
export function isHomeLane(tenant: Routable, lane: StoreRef): boolean {
  return !tenant.move && lane.kind === storeFor(tenant).kind;
}

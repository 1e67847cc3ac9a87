import { NotFoundError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { StoreRef } from '../core/placement.ts';
import type { Placement } from '../core/tenant.ts';
import { tenantDataAt } from '../ports/stores.ts';
import { laneQueues } from './lanes.ts';
import type { ControlDeps } from './tenants.ts';

export interface DrainOptions {
  report(detail: string): Promise<void>;
  /** The runner's wait: it throws when the runner stops, so a drain never ends by being stopped. */
  sleep(ms: number): Promise<void>;
  pollMs: number;
}

/** Waits until the old place has no job of the tenant queued or running and the old lane no message of it. */
export async function drain(
  deps: ControlDeps,
  tenantId: TenantId,
  from: Placement,
  source: StoreRef,
  options: DrainOptions,
): Promise<string> {
  const jobs = tenantDataAt(deps.stores, source, tenantId).jobs;
  let last = '';
  for (;;) {
    const [queued, running] = await Promise.all([
      jobs.list({ status: 'queued', limit: 100 }),
      jobs.list({ status: 'running', limit: 100 }),
    ]);
    let messages = 0;
    for (const queue of laneQueues(tenantId, from)) messages += await messagesOf(deps, queue, tenantId, from);
    const pending = queued.items.length + running.items.length;
    if (pending === 0 && messages === 0) return 'no job of the tenant left in the old lane';
    const detail = `${queued.items.length}${queued.nextCursor ? '+' : ''} queued, ${running.items.length} running, ${messages} messages in the old lane`;
    if (detail !== last) await options.report(detail);
    last = detail;
    await options.sleep(options.pollMs);
  }
}

async function messagesOf(
  deps: ControlDeps,
  queue: string,
  tenantId: TenantId,
  placement: Placement,
): Promise<number> {
  try {
    if (placement === 'dedicated') {
      const depth = await deps.queue.depth(queue);
      return depth.visible + depth.inFlight + depth.delayed;
    }
    // On SQS a shared queue cannot count by tenant (empty map): the job records above decide alone.
    return (await deps.queue.depthByGroup(queue)).get(tenantId) ?? 0;
  } catch (error) {
    if (error instanceof NotFoundError) return 0;
    throw error;
  }
}

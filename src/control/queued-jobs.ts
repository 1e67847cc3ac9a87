import { NotFoundError } from '../core/errors.ts';
import { laneForPlacement, parseQueueName } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { listModels } from '../models/registry.ts';
import type { MessageQueue } from '../ports/message-queue.ts';

/**
 * Jobs of one tenant waiting in its lanes (visible and delayed messages; running ones are not waiting).
 * During a placement move both lanes count. On SQS, shared queues cannot count by group, so this is 0 there.
 */
export async function queuedJobsOf(
  queue: MessageQueue,
  tenant: Pick<Tenant, 'id' | 'placement' | 'move'>,
): Promise<number> {
  const placements = new Set([tenant.placement, ...(tenant.move ? [tenant.move.to] : [])]);
  const names = new Set<string>();
  for (const placement of placements) {
    for (const model of listModels()) names.add(laneForPlacement(tenant.id, placement, model.name).queue);
  }
  const counts = await Promise.all([...names].map((name) => waitingIn(queue, name, tenant.id)));
  return counts.reduce((a, b) => a + b, 0);
}

/** Waiting jobs per tenant and model across every lane: the queue-depth gauge and the usage report. */
export async function queuedJobsByTenant(queue: MessageQueue): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  const add = (tenantId: string, model: string, n: number) => {
    const byModel = out.get(tenantId) ?? new Map<string, number>();
    byModel.set(model, (byModel.get(model) ?? 0) + n);
    out.set(tenantId, byModel);
  };
  for (const name of await queue.listQueues()) {
    const parsed = parseQueueName(name);
    if (!parsed) continue;
    if (parsed.tenantId) {
      add(parsed.tenantId, parsed.model, await waitingIn(queue, name, parsed.tenantId));
      continue;
    }
    for (const [group, n] of await queue.depthByGroup(name)) if (group) add(group, parsed.model, n);
  }
  return out;
}

async function waitingIn(queue: MessageQueue, name: string, tenantId: string): Promise<number> {
  try {
    if (parseQueueName(name)?.tenantId) {
      const depth = await queue.depth(name);
      return depth.visible + depth.delayed;
    }
    return (await queue.depthByGroup(name)).get(tenantId) ?? 0;
  } catch (error) {
    // A lane that was never provisioned (or was removed by a demotion) holds nothing.
    if (error instanceof NotFoundError) return 0;
    throw error;
  }
}

/** Sums a per-model map. */
export function total(byModel: Map<string, number> | undefined): number {
  let n = 0;
  for (const v of byModel?.values() ?? []) n += v;
  return n;
}

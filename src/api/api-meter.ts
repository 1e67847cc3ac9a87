import type { FastifyInstance } from 'fastify';
import { createApiRequestCounter } from '../control/meter.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';

/** Counts each answered request of a resolved tenant in the `api_requests` meter (docs/billing.md). */
export function registerApiMeter(app: FastifyInstance, usage: UsageLedger, intervalMs?: number): void {
  const counter = createApiRequestCounter(usage, intervalMs);
  app.addHook('onResponse', async (request) => {
    if (request.meteredTenant) counter.count(request.meteredTenant);
  });
  app.addHook('onClose', async () => counter.stop());
}

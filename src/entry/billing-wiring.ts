import type { FastifyInstance } from 'fastify';
import { registerApiMeter } from '../api/api-meter.ts';
import { startMetering } from '../control/meter.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';

/**
 * Metering and billing in a long-running server: the API request meter, the periodic metering pass,
 * and the billing routes. Nothing without a usage ledger (AWS without `SILOPOOL_USAGE_TABLE`).
 */
export function startBilling(
  app: FastifyInstance,
  platform: { directory: TenantDirectory; stores: StoreProvider; usage?: UsageLedger },
): { stop(): Promise<void> } {
  const usage = platform.usage;
  if (!usage) return { stop: async () => undefined };
  registerApiMeter(app, usage);
  const metering = startMetering(
    { directory: platform.directory, stores: platform.stores, usage },
    { onError: (error) => app.log.error({ err: error }, 'metering pass') },
  );
  return { stop: () => metering.stop() };
}

import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { parse } from 'yaml';
import { registerApiMeter } from '../api/api-meter.ts';
import type { BillingRouteDeps } from '../api/routes/billing.ts';
import { parseSink } from '../control/billing-export.ts';
import { pruneIdempotencyKeys } from '../control/billing-idempotency.ts';
import { type HostedJobs, startMetering } from '../control/meter.ts';
import { applyDuePlanChanges, parsePlansFile, savePlans } from '../control/plans.ts';
import { isClosed } from '../control/statements.ts';
import { allTenants } from '../control/tenants.ts';
import { AWS_LIST_COSTS, type CostTable, EMBEDDED_MACHINE_COSTS } from '../core/costing.ts';
import { ConfigError, ValidationError } from '../core/errors.ts';
import type { Tenant } from '../core/tenant.ts';
import { usageOfFinishedJob } from '../core/usage.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';

interface BillingPlatform {
  directory: TenantDirectory;
  stores: StoreProvider;
  queue: MessageQueue;
  usage?: UsageLedger;
  billing?: BillingItems;
}

/**
 * The cost table: `SILOPOOL_COST_TABLE` (a JSON or YAML file shaped like `CostTable`, prices in USD) or
 * the backend's default — AWS list prices, or the embedded machine's monthly price.
 */
export function costTableFromEnv(
  backend: 'embedded' | 'aws',
  env: NodeJS.ProcessEnv = process.env,
): CostTable {
  const base = backend === 'aws' ? AWS_LIST_COSTS : EMBEDDED_MACHINE_COSTS;
  const path = env.SILOPOOL_COST_TABLE;
  if (!path) return base;
  const doc = fromSetting('SILOPOOL_COST_TABLE', path, () =>
    parse(readFileSync(path, 'utf8'), { uniqueKeys: true, maxAliasCount: 10 }),
  ) as Partial<CostTable> | null;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(
      'SILOPOOL_COST_TABLE',
      `SILOPOOL_COST_TABLE ${path}: must be a YAML or JSON mapping`,
    );
  const table: CostTable = {
    name: String(doc.name ?? path),
    perUnitUsd: { ...base.perUnitUsd, ...(doc.perUnitUsd ?? {}) },
    sharedFixedMonthUsd: doc.sharedFixedMonthUsd ?? base.sharedFixedMonthUsd,
    perTenantMonthUsd: doc.perTenantMonthUsd ?? base.perTenantMonthUsd,
  };
  const numbers = [...Object.values(table.perUnitUsd), table.sharedFixedMonthUsd, table.perTenantMonthUsd];
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0))
    throw new ConfigError(
      'SILOPOOL_COST_TABLE',
      `SILOPOOL_COST_TABLE ${path}: every price must be a number ≥ 0 (USD)`,
    );
  return table;
}

/**
 * Reads what a setting names (a file, a URL), turning any failure into a ConfigError that names the
 * variable and its value: the server refuses to start with that one line, not a stack trace.
 */
function fromSetting<T>(variable: string, value: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    const problem =
      error instanceof ValidationError
        ? error.problems
            .map((p) => `${p.path === '/' || p.path === '/sink' ? '' : `${p.path} `}${p.message}`)
            .join('; ')
        : (error as Error).message.split('\n')[0];
    throw new ConfigError(variable, `${variable} ${value}: ${problem}`, { cause: error });
  }
}

/**
 * Meters a job a dedicated function process finished: such a process opens only its tenant's store, not
 * the ledger, so the server records the usage of the finished jobs it reports, at once and idempotently
 * (record ids are deterministic; the metering pass, control/meter.ts, makes up for a crash in between).
 * Every other finished job was metered by its own write (in its commit, or just before it where the job
 * and the ledger are two databases): recording those again here cost the API thread a SQLite write per job.
 */
export function meterReportedJob(
  usage: UsageLedger,
  onError: (error: unknown) => void,
): (job: Parameters<typeof usageOfFinishedJob>[0]) => void {
  return (job) => {
    const records = usageOfFinishedJob(job);
    if (records.length > 0) usage.record(records).catch(onError);
  };
}

/** What the billing routes need, or undefined where the platform has no ledger. */
export function billingDepsFor(
  platform: BillingPlatform,
  backend: 'embedded' | 'aws',
  env: NodeJS.ProcessEnv = process.env,
): BillingRouteDeps | undefined {
  if (!platform.usage || !platform.billing) return undefined;
  return {
    directory: platform.directory,
    usage: platform.usage,
    billing: platform.billing,
    costs: costTableFromEnv(backend, env),
    ...(env.SILOPOOL_BILLING_EXPORT
      ? {
          sink: fromSetting('SILOPOOL_BILLING_EXPORT', env.SILOPOOL_BILLING_EXPORT, () =>
            parseSink(env.SILOPOOL_BILLING_EXPORT!),
          ),
        }
      : {}),
  };
}

/**
 * Metering in a long-running server: the API request meter, the periodic metering pass, and plan
 * changes whose day has come. Nothing without a usage ledger.
 */
export function startBilling(
  app: FastifyInstance,
  platform: BillingPlatform,
  options: {
    tenantChanged?: (tenantId: Tenant['id']) => Promise<void> | void;
    /** The embedded dedicated lanes: the pass leaves their finishes to their host (control/meter.ts). */
    hosted?: HostedJobs;
    /** How often the metering pass runs, ms (default 5 minutes). */
    meterIntervalMs?: number;
  } = {},
): { ready: Promise<void>; stop(): Promise<void> } {
  const { usage, billing } = platform;
  const { tenantChanged, hosted, meterIntervalMs } = options;
  if (!usage || !billing) return { ready: Promise.resolve(), stop: async () => undefined };
  registerApiMeter(app, usage);
  // The plans file, when the operator keeps plans in one (like tenants.yaml): checked, then stored.
  const plansFile = process.env.SILOPOOL_PLANS_FILE;
  const plansLoaded = plansFile
    ? savePlans(
        billing,
        fromSetting('SILOPOOL_PLANS_FILE', plansFile, () => parsePlansFile(readFileSync(plansFile, 'utf8'))),
      )
    : Promise.resolve(undefined);
  const onError = (error: unknown) => app.log.error({ err: error }, 'metering pass');
  const metering = startMetering(
    { directory: platform.directory, stores: platform.stores, usage, ...(hosted ? { hosted } : {}) },
    { onError, ...(meterIntervalMs !== undefined ? { intervalMs: meterIntervalMs } : {}) },
  );
  const planTimer = setInterval(async () => {
    try {
      const tenants = await allTenants(platform);
      await applyDuePlanChanges(
        {
          directory: platform.directory,
          stores: platform.stores,
          queue: platform.queue,
          billing,
          isClosed: (month) => isClosed(billing, month),
          ...(tenantChanged ? { tenantChanged } : {}),
        },
        tenants,
      );
      // Idempotency keys are kept 24 h (control/billing-idempotency.ts); older ones go here.
      await pruneIdempotencyKeys(billing);
    } catch (error) {
      onError(error);
    }
  }, 600_000);
  planTimer.unref();
  return {
    ready: plansLoaded.then(() => undefined),
    async stop() {
      clearInterval(planTimer);
      await metering.stop();
    },
  };
}

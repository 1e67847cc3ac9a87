import type { FastifyInstance } from 'fastify';
import type { DiskSpace } from '../control/disk-space.ts';
import type { TenantMetrics } from '../control/metrics.ts';
import { createMetricsSampler, startMetricsHistory } from '../control/metrics-history.ts';
import type { TenantId } from '../core/ids.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { MetricsHistoryStore } from '../ports/metrics-history.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { ServerConfig } from './config.ts';

/** Samples the embedded server's metrics into its history every `SILOPOOL_METRICS_INTERVAL_SEC`. */
export function startEmbeddedMetricsHistory(
  config: Pick<ServerConfig, 'metricsIntervalSec' | 'metricsRetentionDays'>,
  deps: {
    store: MetricsHistoryStore;
    metrics: TenantMetrics;
    queue: MessageQueue;
    directory: TenantDirectory;
    diskSpace: () => Promise<DiskSpace>;
    functions: () => readonly { tenantId: string; coldStarts: number }[];
    app: FastifyInstance;
  },
) {
  return startMetricsHistory({
    store: deps.store,
    sampler: createMetricsSampler({
      metrics: deps.metrics,
      queue: deps.queue,
      // An offboarding tenant is gone for history: its erasure removes what was sampled, and nothing new comes.
      tenantExists: async (id) => {
        const tenant = await deps.directory.get(id as TenantId);
        return tenant !== undefined && tenant.status !== 'offboarding';
      },
      diskSpace: deps.diskSpace,
      functions: deps.functions,
    }),
    intervalMs: config.metricsIntervalSec * 1000,
    retentionMs: config.metricsRetentionDays * 86_400_000,
    onError: (error) => deps.app.log.error({ err: error }, 'metrics history'),
  });
}

import type { FastifyInstance } from 'fastify';
import { diskSpaceMetrics } from '../../control/disk-space.ts';
import { queuedJobsByTenant } from '../../control/queued-jobs.ts';
import type { FunctionInfo } from '../../runtime/process-runtime.ts';
import type { AppDeps } from '../deps.ts';

/**
 * `GET /metrics` in the Prometheus text format, per tenant. Not public (tenant ids and volumes): a scrape
 * credential (`silopool token --role metrics`, which reaches this route and no other) or an operator's.
 */
export function metricsRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get(
    '/metrics',
    {
      config: { audience: 'metrics' },
      schema: { tags: ['ops'], summary: 'Per-tenant metrics (Prometheus text)' },
    },
    async (_request, reply) => {
      // Only tenants that exist now: an offboarded tenant leaves every per-tenant series.
      const current = await currentTenants(deps.directory);
      const body = deps.metrics ? deps.metrics.render(await queuedJobsByTenant(deps.queue), current) : '';
      const disk = deps.diskSpace ? diskSpaceMetrics(await deps.diskSpace()) : '';
      const functions = (deps.functions?.() ?? []).filter((f) => current.has(f.tenantId));
      return reply
        .type('text/plain; version=0.0.4; charset=utf-8')
        .send(body + functionMetrics(functions) + disk);
    },
  );
}

async function currentTenants(directory: AppDeps['directory']): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const t of page.items) ids.add(t.id);
    cursor = page.nextCursor;
  } while (cursor);
  return ids;
}

/** Dedicated functions: the last cold start, how many there were, and whether each is warm now. */
function functionMetrics(functions: FunctionInfo[]): string {
  if (functions.length === 0) return '';
  const label = (f: FunctionInfo) => `{function="${f.name}",tenant="${f.tenantId}",model="${f.model}"}`;
  const lines = [
    '# HELP silopool_function_cold_start_seconds Last cold start of a dedicated function: process start until ready.',
    '# TYPE silopool_function_cold_start_seconds gauge',
    ...functions
      .filter((f) => f.coldStartMs !== undefined)
      .map((f) => `silopool_function_cold_start_seconds${label(f)} ${(f.coldStartMs! / 1000).toFixed(3)}`),
    '# HELP silopool_function_cold_starts_total Cold starts of a dedicated function.',
    '# TYPE silopool_function_cold_starts_total counter',
    ...functions.map((f) => `silopool_function_cold_starts_total${label(f)} ${f.coldStarts}`),
    '# HELP silopool_function_warm 1 while the function has a running process, 0 when scaled to zero.',
    '# TYPE silopool_function_warm gauge',
    ...functions.map((f) => `silopool_function_warm${label(f)} ${f.state === 'warm' ? 1 : 0}`),
  ];
  return `${lines.join('\n')}\n`;
}

import { join } from 'node:path';
import {
  openSpanStore,
  readSpansOfJob,
  type StoredSpan,
  spanStoreExporter,
  TRACES_FILE,
} from './span-store.ts';
import { startTracing, type Tracing, type TracingOptions } from './tracing.ts';

/**
 * Tracing of one embedded process or thread, with spans kept in `dir/traces.sqlite` (and sent over OTLP
 * when configured). The API server and the shared function threads write `DATA_DIR`'s file; a dedicated
 * function process writes the one in its tenant's folder, the only folder it opens.
 */
export function startLocalTracing(
  service: string,
  dir: string,
  options: Pick<TracingOptions, 'context'> = {},
): Tracing {
  return startTracing({
    ...options,
    service,
    local: spanStoreExporter(openSpanStore(join(dir, TRACES_FILE))),
  });
}

/**
 * The spans of one job kept on this machine: those of the API and the shared functions, and those of the
 * tenant's dedicated function (in the tenant's folder), oldest first.
 */
export function localJobSpans(dataDir: string) {
  return async (tenantId: string, jobId: string): Promise<StoredSpan[]> => {
    const files = [join(dataDir, TRACES_FILE), join(dataDir, 'tenants', tenantId, TRACES_FILE)];
    return files
      .flatMap((file) => readSpansOfJob(file, tenantId, jobId))
      .sort((a, b) => a.startMs - b.startMs);
  };
}

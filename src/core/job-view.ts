import type { JobRecord, JobWarning } from './job.ts';
import { jobForTenant, type ViewAudience } from './tenant-view.ts';

/**
 * The job's warnings: once it has run, those of its result (they include the input's); before, the
 * input's plausibility warnings recorded when it was accepted.
 */
export function jobWarnings(job: Pick<JobRecord, 'summary' | 'warnings'>): JobWarning[] {
  const fromResult = job.summary?.['warnings'];
  return Array.isArray(fromResult) ? (fromResult as JobWarning[]) : (job.warnings ?? []);
}

/**
 * The public JSON of a job: what the API returns and webhooks carry (its story is not part of it). For its
 * tenant (the default) the record is first judged by `jobForTenant`, so a failure written by any release
 * shows only what the tenant may see; operators' views pass `'operator'`.
 */
export function jobView(record: Omit<JobRecord, 'story'>, audience: ViewAudience = 'tenant') {
  const job = audience === 'operator' ? record : jobForTenant(record);
  const self = `/v1/jobs/${job.id}`;
  return {
    id: job.id,
    tenantId: job.tenantId,
    model: job.model,
    modelVersion: job.modelVersion,
    ...(job.modelVariant ? { modelVariant: job.modelVariant } : {}),
    ...(job.release ? { release: job.release } : {}),
    status: job.status,
    priority: job.priority,
    input: job.input,
    effectiveInput: job.effectiveInput,
    rules: job.rules,
    summary: job.summary,
    warnings: jobWarnings(job),
    series: job.series,
    artifacts: job.artifacts.map((a) => ({
      name: a.name,
      contentType: a.contentType,
      size: a.size,
      sha256: a.sha256,
      url: `${self}/artifacts/${encodeURIComponent(a.name)}`,
    })),
    rendering: job.rendering,
    error: job.error,
    // Only while it runs: a finished job's last report would read as work still going on.
    ...(job.status === 'running' && job.progress ? { progress: job.progress } : {}),
    attempts: job.attempts,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    links: { self, events: `${self}/events` },
  };
}

export type JobView = ReturnType<typeof jobView>;

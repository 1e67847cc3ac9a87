import { useAsync, useTenantClient } from '../api.tsx';
import { JobTimeline } from '../ui/JobTimeline.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading } from '../ui/States.tsx';

/**
 * The job's story for the tenant's users: reloaded whenever the job changes (`version`: its status or
 * attempt), so a running job's page shows each step as it happens.
 */
export function JobStory({ tenantId, jobId, version }: { tenantId: string; jobId: string; version: string }) {
  const client = useTenantClient(tenantId);
  const story = useAsync(
    async () => ({ timeline: await client.jobTimeline(jobId), logs: await client.jobLogs(jobId) }),
    [tenantId, jobId, version],
  );
  if (!story.data) {
    return story.error ? (
      <ProblemBanner error={story.error} onRetry={story.reload} />
    ) : (
      <Loading label="Loading timeline…" />
    );
  }
  return <JobTimeline steps={story.data.timeline.steps} logs={story.data.logs} />;
}

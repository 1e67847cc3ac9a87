import { lazy, Suspense, useEffect, useState } from 'react';
import { isTerminal, type Job } from '../../../src/client/index.ts';
import { useAsync, useTenantClient } from '../api.tsx';
import { Link, useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading, StatusBadge } from '../ui/States.tsx';
import { Downloads } from './Downloads.tsx';
import {
  chartSeries,
  describeProgress,
  duration,
  formatFigure,
  formatMoney,
  formatTime,
  humanize,
  keyFigures,
  simulationDistributions,
  simulationFan,
} from './format.ts';
import { JobStory } from './JobStory.tsx';
import { JobWarnings } from './JobWarnings.tsx';

// Recharts is the biggest piece of the portal; only a finished job's page needs it.
const ResultsChart = lazy(() => import('./ResultsChart.tsx'));
const FanChart = lazy(() => import('./FanChart.tsx'));
const DistributionChart = lazy(() => import('./DistributionChart.tsx'));

/** One job, kept live over Server-Sent Events until it is terminal. */
export function JobPage({ tenantId, jobId }: { tenantId: string; jobId: string }) {
  useTitle(`Job ${jobId}`);
  const client = useTenantClient(tenantId);
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  // What each summary figure measures (money, rate, multiple) is the model's data, not guessed from names.
  const models = useAsync(() => client.listModels(), [tenantId]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: the client is rebuilt per render; tenant and job identify it.
  useEffect(() => {
    const abort = new AbortController();
    setError(undefined);
    (async () => {
      const first = await client.getJob(jobId);
      setJob(first);
      if (isTerminal(first.status)) return;
      for await (const next of client.watchJob(jobId, abort.signal)) setJob(next);
    })().catch((e: unknown) => {
      if (!abort.signal.aborted) setError(e);
    });
    return () => abort.abort();
  }, [tenantId, jobId, attempt]);

  const cancel = async () => {
    try {
      setJob(await client.cancelJob(jobId));
    } catch (e) {
      setError(e);
    }
  };

  const base = `/t/${encodeURIComponent(tenantId)}`;
  if (!job) {
    return error ? <ProblemBanner error={error} onRetry={() => setAttempt((a) => a + 1)} /> : <Loading />;
  }
  const series = chartSeries(job);
  const units = models.data?.find((m) => m.name === job.model)?.summaryUnits;
  const figures = keyFigures(job.summary, units);
  const currency = jobCurrency(job);
  const fan = simulationFan(job.summary);
  const distributions = simulationDistributions(job.summary);
  const money = (v: number) => formatMoney(v, currency);
  const progress = job.status === 'running' ? job.progress : undefined;
  return (
    <section>
      <p>
        <Link href={`${base}/jobs`}>← All jobs</Link>
      </p>
      <h1>
        {job.model} job <code className="job-id">{job.id}</code>
      </h1>
      <ProblemBanner error={error} onRetry={() => setAttempt((a) => a + 1)} />
      <div className="job-status" aria-live="polite">
        Status: <StatusBadge status={job.status} />
        {!isTerminal(job.status) && !progress ? <span className="spinner" aria-hidden="true" /> : null}
      </div>
      {progress ? (
        <div className="job-progress">
          <progress
            max={progress.total}
            value={progress.done}
            aria-label="Model progress"
            aria-valuetext={describeProgress(progress)}
          />
          <span className="muted">{describeProgress(progress)}</span>
        </div>
      ) : null}
      <dl className="facts">
        <dt>Model version</dt>
        <dd>{job.modelVersion}</dd>
        <dt>Submitted</dt>
        <dd>{formatTime(job.createdAt)}</dd>
        <dt>Run time</dt>
        <dd>{duration(job.startedAt, job.finishedAt)}</dd>
      </dl>
      <div className="actions">
        <Link
          className="button"
          href={`${base}/models/${encodeURIComponent(job.model)}?rerun=${encodeURIComponent(job.id)}`}
        >
          Re-run with edits
        </Link>
        {job.status === 'queued' ? (
          <button type="button" className="button-secondary" onClick={cancel}>
            Cancel job
          </button>
        ) : null}
      </div>
      {job.error ? (
        <div className="banner banner-error" role="alert">
          <p className="banner-title">The job failed ({job.error.code})</p>
          <p>{job.error.message}</p>
        </div>
      ) : null}
      <JobWarnings warnings={job.warnings ?? []} />
      {job.status === 'succeeded' ? <Downloads client={client} job={job} /> : null}
      {figures.length > 0 ? (
        <section aria-labelledby="results-heading">
          <h2 id="results-heading">Key results</h2>
          {currency ? <p className="muted">Amounts in {currency}; rates as percentages.</p> : null}
          <dl className="summary">
            {figures.map((f) => (
              <div key={f.label}>
                <dt>{f.label}</dt>
                <dd>{formatFigure(f.value, f.unit, currency, f.key)}</dd>
              </div>
            ))}
          </dl>
        </section>
      ) : null}
      {series.length > 0 ? (
        <Suspense fallback={<Loading label="Loading chart…" />}>
          {series.map(([name, points]) => (
            <ResultsChart key={name} title={humanize(name)} points={points} format={money} />
          ))}
        </Suspense>
      ) : null}
      {fan.length > 0 ? (
        <Suspense fallback={<Loading label="Loading chart…" />}>
          <FanChart
            title="Cumulative net cash flow, Monte Carlo: P5–P95 and P25–P75 bands, median line"
            points={fan}
            format={money}
          />
        </Suspense>
      ) : null}
      {distributions.length > 0 ? (
        <Suspense fallback={<Loading label="Loading chart…" />}>
          {distributions.map((d) => (
            <DistributionChart
              key={d.key}
              distribution={d}
              format={(v) => formatFigure(v, d.unit, currency)}
            />
          ))}
        </Suspense>
      ) : null}
      <JobStory
        tenantId={tenantId}
        jobId={job.id}
        version={`${job.status}/${job.attempts}/${job.updatedAt}`}
      />
      <details>
        <summary>Input the model ran on</summary>
        <pre>{JSON.stringify(job.effectiveInput, null, 2)}</pre>
      </details>
    </section>
  );
}

/** The job's currency: the summary's (what the model ran with), else the input's. */
function jobCurrency(job: Job): string | undefined {
  const fromSummary = job.summary?.['currency'];
  if (typeof fromSummary === 'string') return fromSummary;
  const input = job.effectiveInput as { currency?: unknown } | undefined;
  return typeof input?.currency === 'string' ? input.currency : undefined;
}

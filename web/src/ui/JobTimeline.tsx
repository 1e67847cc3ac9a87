import type { JobLogEntry, JobTimelineStep } from '../../../src/client/index.ts';
import { formatTime } from '../portal/format.ts';

/** What each recorded step means, in words a tenant's user reads. */
const STEP_LABELS: Record<string, string> = {
  submitted: 'Submitted',
  admitted: 'Admitted (limits checked)',
  queued: 'Queued',
  claimed: 'Claimed by a function',
  running: 'Running the model',
  rendering: 'Rendering the workbook',
  stored: 'Workbook stored',
  succeeded: 'Succeeded',
  failed: 'Failed',
  notified: 'Notified',
  attempt_failed: 'Attempt failed',
  retried: 'Retried',
  dead_lettered: 'Dead-lettered',
  redriven: 'Redriven',
  cancelled: 'Cancelled',
};

/** Milliseconds as a short duration: `850 ms`, `2.4 s`, `3 min 5 s`. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Where a step happened: its attempt, lane and function. */
function whereOf(step: JobTimelineStep): string {
  return [
    step.attempt !== undefined ? `attempt ${step.attempt}` : '',
    step.lane ? `lane ${step.lane}` : '',
    step.fn ? `function ${step.fn}` : '',
    step.detail ?? '',
    // Present in operators' views only (the console's job story): the raw cause, who acted.
    step.internal ?? '',
  ]
    .filter(Boolean)
    .join(' · ');
}

/** A job's timeline (each step with its time and how long it lasted) and its log, oldest first. */
export function JobTimeline({ steps, logs }: { steps: JobTimelineStep[]; logs: JobLogEntry[] }) {
  return (
    <>
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        {steps.length === 0 ? (
          <p className="muted">
            No steps recorded for this job (it was submitted before timelines were kept).
          </p>
        ) : (
          <ol className="timeline">
            {steps.map((step, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the record's list only grows; a step may repeat in one millisecond.
              <li key={`${step.step}-${step.at}-${i}`} className={`timeline-step step-${step.step}`}>
                <span className="timeline-label">{STEP_LABELS[step.step] ?? step.step}</span>
                <time dateTime={step.at}>{formatTime(step.at)}</time>
                {step.durationMs !== undefined ? (
                  <span className="timeline-duration">for {formatDuration(step.durationMs)}</span>
                ) : null}
                {whereOf(step) ? <span className="timeline-where">{whereOf(step)}</span> : null}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="logs-heading">
        <h2 id="logs-heading">Log</h2>
        {logs.length === 0 ? (
          <p className="muted">No log lines.</p>
        ) : (
          <ul className="job-log">
            {logs.map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the record's log only grows; lines may share a millisecond.
              <li key={`${line.at}-${i}`} className={`log-${line.level}`}>
                <time dateTime={line.at}>{formatTime(line.at)}</time> <strong>{line.level}</strong>{' '}
                {line.message}
                {line.fields ? (
                  <code className="log-fields">
                    {Object.entries(line.fields)
                      .map(([k, v]) => `${k}=${String(v)}`)
                      .join(' ')}
                  </code>
                ) : null}
                {line.internal ? <code className="log-fields">{line.internal}</code> : null}
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

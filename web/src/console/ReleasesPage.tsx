import { useCallback, useState } from 'react';
import type { Rollout } from '../../../src/client/index.ts';
import { useAsync, useInterval, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { useTitle } from '../router.tsx';
import { DataTable } from '../ui/DataTable.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading, StatusBadge } from '../ui/States.tsx';

/**
 * Releases of model code and upgrades: which release each tenant runs, and an upgrade to every dedicated
 * tenant in waves (canary first) followed step by step, with its health checks and any rollback.
 */
export function ReleasesPage() {
  useTitle('Releases');
  const { client } = useSession();
  const releases = useAsync(() => client.listReleases(), []);
  const rollouts = useAsync(() => client.listRollouts(), []);
  const [error, setError] = useState<unknown>();
  const [observeSec, setObserveSec] = useState(300);
  // The server's defaults (1 job; 4 × the watch) unless the operator changes them; an empty field sends none.
  const [minJobs, setMinJobs] = useState('1');
  const [maxObserveSec, setMaxObserveSec] = useState('');
  const running = rollouts.data?.find((r) => r.status === 'running');
  const reload = useCallback(() => {
    rollouts.reload();
    releases.reload();
  }, [rollouts, releases]);
  // Half a second while an upgrade runs (its waves take seconds to minutes); otherwise no polling.
  useInterval(reload, running ? 500 : undefined);

  const start = async (release: string) => {
    setError(undefined);
    try {
      await client.startRollout(release, {
        observeSec,
        ...(minJobs.trim() !== '' ? { minJobs: Number(minJobs) } : {}),
        ...(maxObserveSec.trim() !== '' ? { maxObserveSec: Number(maxObserveSec) } : {}),
      });
      reload();
    } catch (e) {
      setError(e);
    }
  };

  // As `silopool release abort`: the wave in progress is rolled back and the release is not made current.
  const abort = async (op: Rollout) => {
    if (!window.confirm(`Abort the upgrade to ${op.release}? Its wave in progress is rolled back.`)) return;
    setError(undefined);
    try {
      await client.abortRollout(op.id, 'aborted in the console');
      reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <h1>Releases</h1>
      <ProblemBanner error={releases.error ?? rollouts.error ?? error} onRetry={reload} />
      {releases.loading && !releases.data ? <Loading label="Loading releases…" /> : null}
      {releases.data?.pointer ? (
        <div className="banner banner-error" role="alert">
          <p>
            No release is current: {releases.data.pointer.message} Rolling a release out below rewrites the
            pointer.
          </p>
        </div>
      ) : null}
      <WholeNumber
        before="Watch each wave for"
        label="Seconds each wave is watched"
        max={86_400}
        value={String(observeSec)}
        onChange={(v) => setObserveSec(Number(v))}
        after="s"
      />{' '}
      <WholeNumber
        before="until each tenant ran"
        label="Jobs each tenant must run on the release while watched"
        max={10_000}
        value={minJobs}
        onChange={setMinJobs}
        after="jobs on the release (0: no evidence needed),"
      />{' '}
      <WholeNumber
        before="for at most"
        label="Longest seconds a wave is watched waiting for those jobs"
        max={604_800}
        value={maxObserveSec}
        placeholder={String(observeSec * 4)}
        onChange={setMaxObserveSec}
        after="s; a wave whose tenants ran fewer is unobserved, not healthy"
      />
      {releases.data ? (
        <DataTable
          label="Releases"
          columns={[
            {
              header: 'Release',
              cell: (r) => (
                <>
                  <code>{r.id}</code> {r.current ? <StatusBadge status="current" /> : null}
                </>
              ),
            },
            {
              header: 'Models',
              cell: (r) =>
                Object.entries(r.models)
                  .map(([m, v]) => `${m} ${v}`)
                  .join(', '),
            },
            {
              header: 'Variants',
              cell: (r) => r.variants.map((v) => `${v.name} (${v.tenantId})`).join(', ') || '—',
            },
            { header: 'Tenants', num: true, cell: (r) => r.tenants.length },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (r) =>
                r.current ? null : (
                  <button type="button" disabled={Boolean(running)} onClick={() => start(r.id)}>
                    Roll out {r.id}
                  </button>
                ),
            },
          ]}
          rows={releases.data.items}
          rowKey={(r) => r.id}
        />
      ) : null}
      {releases.data && releases.data.invalid.length > 0 ? (
        <div className="banner banner-error" role="alert">
          <p>Releases that cannot be loaded:</p>
          <ul>
            {releases.data.invalid.map((r) => (
              <li key={r.id}>
                <code>{r.id}</code>: {r.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <h2>Upgrades</h2>
      {rollouts.data?.length === 0 ? <p className="muted">No upgrade yet.</p> : null}
      {rollouts.data?.map((op) => (
        <RolloutCard key={op.id} op={op} onAbort={() => abort(op)} />
      ))}
    </section>
  );
}

function RolloutCard({ op, onAbort }: { op: Rollout; onAbort(): void }) {
  const percent = Math.round(op.progress * 100);
  return (
    <article className="card operation" aria-live={op.status === 'running' ? 'polite' : 'off'}>
      <p>
        Upgrade to <code>{op.release}</code> <StatusBadge status={op.status} /> {percent}% · started{' '}
        {formatTime(op.createdAt)}
        {op.observeSec !== undefined ? <> · {evidenceRule(op)}</> : null}
        {op.status === 'running' ? (
          <>
            {' '}
            <button type="button" onClick={onAbort}>
              Abort upgrade to {op.release}
            </button>
          </>
        ) : null}
      </p>
      <progress max={100} value={percent} aria-label={`Upgrade to ${op.release} progress`}>
        {percent}%
      </progress>
      <ol className="steps">
        {op.steps.map((step, i) => (
          <li key={step.name} className={`step step-${step.status}`}>
            <span className="step-name">{step.name}</span> <StatusBadge status={step.status} />
            {op.waves[i] ? <span className="muted"> {op.waves[i].join(', ')}</span> : null}
            {step.detail ? <span className="muted"> — {step.detail}</span> : null}
          </li>
        ))}
      </ol>
      {op.error ? (
        <p className="field-error" role="alert">
          {op.error.message}
        </p>
      ) : null}
    </article>
  );
}

/** `waves watched 300 s, each tenant 1 job on the release within 1200 s`, as the upgrade recorded it. */
function evidenceRule(op: Rollout): string {
  const watch = `waves watched ${op.observeSec} s`;
  if (op.minJobs === undefined || op.minJobs === 0) return `${watch}, no jobs needed`;
  const jobs = `${op.minJobs} job${op.minJobs === 1 ? '' : 's'}`;
  return `${watch}, each tenant ${jobs} on the release within ${op.maxObserveSec ?? op.observeSec} s`;
}

/** A number field of the upgrade's settings, 0 to `max`, in its sentence; kept as typed (empty sends nothing). */
function WholeNumber(props: {
  before: string;
  label: string;
  max: number;
  value: string;
  placeholder?: string;
  onChange(value: string): void;
  after: string;
}) {
  return (
    <label>
      {props.before}{' '}
      <input
        type="number"
        min={0}
        max={props.max}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e) => props.onChange(e.target.value)}
        aria-label={props.label}
      />{' '}
      {props.after}
    </label>
  );
}

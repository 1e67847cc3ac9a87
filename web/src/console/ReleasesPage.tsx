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
      await client.startRollout(release, { observeSec });
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
      <label>
        Watch each wave for{' '}
        <input
          type="number"
          min={0}
          max={86400}
          value={observeSec}
          onChange={(e) => setObserveSec(Number(e.target.value))}
          aria-label="Seconds each wave is watched"
        />{' '}
        s
      </label>
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

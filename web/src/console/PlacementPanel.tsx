import { useCallback, useEffect, useState } from 'react';
import type { Operation, Tenant } from '../../../src/client/index.ts';
import { useInterval, useSession } from '../api.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { StatusBadge } from '../ui/States.tsx';

/** Promote (shared → dedicated) or demote, then follow the move operation step by step. */
export function PlacementPanel({ tenant, onMoved }: { tenant: Tenant; onMoved(): void }) {
  const { client } = useSession();
  const [operationId, setOperationId] = useState(tenant.move?.operationId);
  const [operation, setOperation] = useState<Operation>();
  const [error, setError] = useState<unknown>();
  const target = tenant.placement === 'shared' ? 'dedicated' : 'shared';
  const running = operation ? operation.status === 'running' : Boolean(operationId);

  const poll = useCallback(async () => {
    if (!operationId) return;
    try {
      const next = await client.getOperation(operationId);
      setOperation(next);
      if (next.status !== 'running') {
        setOperationId(undefined);
        onMoved();
      }
    } catch (e) {
      setError(e);
      setOperationId(undefined);
    }
  }, [client, operationId, onMoved]);

  useEffect(() => {
    void poll();
  }, [poll]);
  // Half a second is smooth enough for a move that takes seconds to minutes.
  useInterval(poll, operationId ? 500 : undefined);

  const start = async () => {
    setError(undefined);
    try {
      const op = await client.movePlacement(tenant.id, target);
      setOperation(op);
      setOperationId(op.id);
      // The tenant now carries the move: the page's other panels (operations) follow it.
      onMoved();
    } catch (e) {
      setError(e);
    }
  };

  const percent = Math.round((operation?.progress ?? 0) * 100);
  return (
    <section className="card" aria-labelledby="placement-heading">
      <h2 id="placement-heading">Placement</h2>
      <p>
        Currently <strong>{tenant.placement}</strong>.{' '}
        {target === 'dedicated'
          ? 'Promoting gives the tenant its own queue, function and store; queued jobs move with it.'
          : 'Demoting moves the tenant back to the shared queues and store.'}
      </p>
      <ProblemBanner error={error} />
      <button type="button" onClick={start} disabled={running || tenant.status !== 'active'}>
        {target === 'dedicated' ? 'Promote to dedicated' : 'Demote to shared'}
      </button>
      {operation ? (
        <div className="operation" aria-live="polite">
          <p>
            Move {operation.status === 'running' ? 'in progress' : operation.status}:{' '}
            <StatusBadge status={operation.status} /> {percent}%
          </p>
          <progress max={100} value={percent} aria-label="Move progress">
            {percent}%
          </progress>
          <ol className="steps">
            {operation.steps.map((step) => (
              <li key={step.name} className={`step step-${step.status}`}>
                <span className="step-name">{step.name}</span> <StatusBadge status={step.status} />
                {step.detail ? <span className="muted"> {step.detail}</span> : null}
              </li>
            ))}
          </ol>
          {operation.error ? (
            <p className="field-error" role="alert">
              {operation.error.message}
            </p>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

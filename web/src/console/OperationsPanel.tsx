import type { Operation } from '../../../src/client/index.ts';
import { useAsync, useInterval, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { ProblemBanner } from '../ui/Problem.tsx';
import { StatusBadge } from '../ui/States.tsx';
import { TableFrame } from '../ui/TableFrame.tsx';

const KINDS: Record<Operation['kind'], string> = {
  move: 'Placement move',
  apply: 'Settings applied',
  offboard: 'Offboarding',
  rollout: 'Upgrade',
  onboard: 'Onboarding',
};

/**
 * What changed a tenant's placement or resources, newest first: moves, settings applied, offboarding.
 * While one runs (or the tenant is moving) the list refreshes every second, so a move shows as it happens.
 */
export function OperationsPanel({
  tenantId,
  version,
  moving = false,
}: {
  tenantId: string;
  version: number;
  moving?: boolean;
}) {
  const { client } = useSession();
  const operations = useAsync(() => client.listOperations(tenantId), [tenantId, version]);
  const items = operations.data ?? [];
  const running = moving || items.some((op) => op.status === 'running');
  useInterval(operations.reload, running ? 1000 : undefined);
  return (
    <section aria-labelledby="operations-heading">
      <h2 id="operations-heading">Operations</h2>
      <ProblemBanner error={operations.error} onRetry={operations.reload} />
      {items.length === 0 ? (
        <p className="muted">No operation yet.</p>
      ) : (
        <TableFrame label="Operations">
          <table aria-labelledby="operations-heading">
            <thead>
              <tr>
                <th scope="col">Operation</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Started</th>
                <th scope="col">Last step</th>
              </tr>
            </thead>
            <tbody>
              {items.map((op) => (
                <tr key={op.id}>
                  <td>
                    {KINDS[op.kind]}
                    {op.kind === 'move' && op.from && op.to ? ` (${op.from} → ${op.to})` : ''}
                  </td>
                  <td>
                    <StatusBadge status={op.status} />
                  </td>
                  <td>{Math.round(op.progress * 100)} %</td>
                  <td>{formatTime(op.createdAt)}</td>
                  <td className="cell-text">{op.error?.message ?? lastStep(op)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableFrame>
      )}
    </section>
  );
}

function lastStep(op: Operation): string {
  const step = [...op.steps].reverse().find((s) => s.status !== 'pending');
  return step ? `${step.name}${step.detail ? `: ${step.detail}` : ''}` : '';
}

import { useState } from 'react';
import type { DeadLetter } from '../../../src/client/index.ts';
import { useAsync, useInterval, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { useTitle } from '../router.tsx';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Empty, Loading } from '../ui/States.tsx';
import { TableFrame } from '../ui/TableFrame.tsx';

/** Queue depths, refreshed every few seconds, with dead-letter inspection and redrive. */
export function QueuesPage() {
  useTitle('Queues');
  const { client } = useSession();
  const queues = useAsync(() => client.listQueues(), []);
  useInterval(queues.reload, 5000);
  const [open, setOpen] = useState<{ queue: string; items: DeadLetter[] }>();
  const [message, setMessage] = useState<string>();
  const [error, setError] = useState<unknown>();

  const inspect = async (queue: string) => {
    setError(undefined);
    try {
      setOpen({ queue, items: await client.listDeadLetters(queue) });
    } catch (e) {
      setError(e);
    }
  };
  const redrive = async (queue: string) => {
    setError(undefined);
    try {
      const { moved, skipped = 0 } = await client.redrive(queue);
      setMessage(
        `Moved ${moved} message${moved === 1 ? '' : 's'} from the dead-letter queue back to ${queue}.` +
          (skipped > 0 ? ` Kept ${skipped} of tenants that are not active (suspended or offboarding).` : ''),
      );
      setOpen(undefined);
      queues.reload();
    } catch (e) {
      setError(e);
    }
  };

  const anyDead = queues.data?.some((q) => q.deadLetters > 0) ?? false;
  return (
    <section>
      <h1>Queues</h1>
      <ProblemBanner error={queues.error ?? error} onRetry={queues.reload} />
      {message ? (
        <p className="banner banner-success" role="status">
          {message}
        </p>
      ) : null}
      {queues.loading && !queues.data ? <Loading label="Loading queues…" /> : null}
      {queues.data?.length === 0 ? (
        <Empty title="No queues yet. They appear when tenants are placed." />
      ) : null}
      {queues.data && queues.data.length > 0 ? (
        <TableFrame label="Queue depths">
          <table>
            <caption className="sr-only">Queue depths</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col" className="num">
                  Visible
                </th>
                <th scope="col" className="num">
                  In flight
                </th>
                <th scope="col" className="num">
                  Delayed
                </th>
                <th scope="col" className="num">
                  Dead letters
                </th>
                {/* Only queues with dead letters have actions: no column of empty cells otherwise. */}
                {anyDead ? <th scope="col">Dead-letter actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {queues.data.map((q) => (
                <tr key={q.queue}>
                  <td>
                    <code>{q.queue}</code>
                  </td>
                  <td className="num">{q.visible}</td>
                  <td className="num">{q.inFlight}</td>
                  <td className="num">{q.delayed}</td>
                  <td className={`num${q.deadLetters > 0 ? ' warn' : ''}`}>{q.deadLetters}</td>
                  {anyDead ? (
                    <td className="actions">
                      {q.deadLetters > 0 ? (
                        <>
                          <button
                            type="button"
                            className="button-secondary"
                            aria-label={`Inspect dead letters of ${q.queue}`}
                            onClick={() => inspect(q.queue)}
                          >
                            Inspect
                          </button>
                          <button
                            type="button"
                            aria-label={`Redrive dead letters of ${q.queue}`}
                            onClick={() => redrive(q.queue)}
                          >
                            Redrive
                          </button>
                        </>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableFrame>
      ) : null}
      {open ? (
        <section aria-labelledby="dlq-heading">
          <h2 id="dlq-heading">
            Dead letters of <code>{open.queue}</code>
          </h2>
          {open.items.length === 0 ? <Empty title="The dead-letter queue is empty." /> : null}
          <ul className="dead-letters">
            {open.items.map((d) => (
              <li key={d.messageId} className="card">
                <p>
                  <code>{d.messageId}</code> · received {d.receiveCount}× · sent {formatTime(d.sentAt)}
                </p>
                <pre>{JSON.stringify(d.body, null, 2)}</pre>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </section>
  );
}

import { useState } from 'react';
import type { ApiKey } from '../../../src/client/index.ts';
import { useAsync, useSession } from '../api.tsx';
import { formatTime } from '../portal/format.ts';
import { ProblemBanner } from '../ui/Problem.tsx';
import { TableFrame } from '../ui/TableFrame.tsx';

/** Grace periods offered when rotating, seconds: the old key keeps working this long. */
const GRACE_CHOICES: [number, string][] = [
  [0, 'none (revoke at once)'],
  [3600, '1 hour'],
  [86_400, '1 day'],
  [7 * 86_400, '7 days'],
];

/** A tenant's API keys: prefixes and dates (never secrets), issue, rotate and revoke. */
export function KeysPanel({ tenantId }: { tenantId: string }) {
  const { client } = useSession();
  const keys = useAsync(() => client.listApiKeys(tenantId), [tenantId]);
  const [grace, setGrace] = useState(0);
  const [shown, setShown] = useState<{ apiKey: string; note: string }>();
  const [error, setError] = useState<unknown>();

  const act = async (run: () => Promise<{ apiKey: string; note: string } | undefined>) => {
    setError(undefined);
    setShown(undefined);
    try {
      setShown(await run());
    } catch (e) {
      setError(e);
    }
    keys.reload();
  };
  const issue = () => act(async () => ({ ...(await client.issueApiKey(tenantId)), note: 'New key.' }));
  const rotate = (key: ApiKey) =>
    act(async () => {
      const r = await client.rotateApiKey(tenantId, key.id, { graceSeconds: grace });
      const note = r.replaced.revoked
        ? `Key ${key.prefix}… is revoked.`
        : `Key ${key.prefix}… works until ${formatTime(r.replaced.expiresAt ?? '')}.`;
      return { apiKey: r.apiKey, note };
    });
  const revoke = (key: ApiKey) => {
    if (!window.confirm(`Revoke ${key.prefix}…? Requests with it fail at once.`)) return;
    return act(async () => {
      await client.revokeApiKey(tenantId, key.id);
      return undefined;
    });
  };

  const items = keys.data ?? [];
  return (
    <section aria-labelledby="keys-heading">
      <h2 id="keys-heading">API keys</h2>
      <ProblemBanner error={error ?? keys.error} onRetry={keys.reload} />
      {shown ? (
        <div className="banner banner-success" role="status">
          <p className="banner-title">{shown.note} The new key is shown once:</p>
          <p>
            <code className="secret" data-testid="new-api-key">
              {shown.apiKey}
            </code>
          </p>
        </div>
      ) : null}
      {items.length === 0 ? (
        <p className="muted">No working key.</p>
      ) : (
        <TableFrame label="API keys">
          <table aria-labelledby="keys-heading">
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {items.map((k) => (
                <tr key={k.id}>
                  <td>
                    <code>{k.prefix}…</code>
                  </td>
                  <td>{formatTime(k.createdAt)}</td>
                  <td>{k.lastUsedAt ? formatTime(k.lastUsedAt) : 'never'}</td>
                  <td>{k.expiresAt ? formatTime(k.expiresAt) : '—'}</td>
                  <td className="actions">
                    <button
                      type="button"
                      className="button-secondary"
                      aria-label={`Rotate ${k.prefix}`}
                      onClick={() => rotate(k)}
                    >
                      Rotate
                    </button>
                    <button
                      type="button"
                      className="button-danger"
                      aria-label={`Revoke ${k.prefix}`}
                      onClick={() => revoke(k)}
                    >
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableFrame>
      )}
      <div className="actions">
        <label>
          Grace period when rotating{' '}
          <select value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
            {GRACE_CHOICES.map(([seconds, label]) => (
              <option key={seconds} value={seconds}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="button-secondary" onClick={issue}>
          Issue a key
        </button>
      </div>
    </section>
  );
}

import { useState } from 'react';
import type { Job, SilopoolClient } from '../../../src/client/index.ts';
import { ProblemBanner } from '../ui/Problem.tsx';
import { formatBytes } from './format.ts';

/**
 * Artifacts need the Authorization header, so a plain link cannot fetch them: download with
 * fetch, then hand the browser a blob URL with the server's file name.
 */
export function Downloads({ client, job }: { client: SilopoolClient; job: Job }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<string>();
  if (job.artifacts.length === 0) return null;

  const download = async (name: string) => {
    setBusy(name);
    setError(undefined);
    try {
      const { blob, fileName } = await client.downloadArtifact(job.id, name);
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = fileName;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      // Revoke later: revoking at once can cancel the download in some browsers.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section aria-labelledby="downloads-heading">
      <h2 id="downloads-heading">Downloads</h2>
      <ProblemBanner error={error} />
      <ul className="downloads">
        {job.artifacts.map((a) => (
          <li key={a.name}>
            <button type="button" onClick={() => download(a.name)} disabled={busy === a.name}>
              {busy === a.name ? 'Downloading…' : `Download ${a.name}`}
            </button>
            <span className="muted"> {formatBytes(a.size)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

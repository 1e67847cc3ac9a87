import { ProblemError } from '../../../src/client/index.ts';
import { Link } from '../router.tsx';

/** Shows an error as its problem+json says it: title, detail and each field problem, never a blank page. */
export function ProblemBanner({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const problem =
    error instanceof ProblemError
      ? error.problem
      : {
          title: 'Something went wrong',
          detail: error instanceof Error ? error.message : String(error),
          status: 0,
        };
  const errors = 'errors' in problem ? (problem.errors ?? []) : [];
  return (
    <div className="banner banner-error" role="alert">
      <p className="banner-title">
        {problem.title}
        {problem.status ? <span className="muted"> ({problem.status})</span> : null}
      </p>
      {problem.detail ? <p>{problem.detail}</p> : null}
      {errors.length > 0 ? (
        <ul>
          {errors.map((e) => (
            <li key={`${e.path}:${e.message}`}>
              <code>{e.path || '/'}</code> {e.message}
            </li>
          ))}
        </ul>
      ) : null}
      {problem.status === 401 ? (
        <p>
          <Link href="/login">Sign in again</Link>
        </p>
      ) : null}
      {onRetry ? (
        <button type="button" className="button-secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

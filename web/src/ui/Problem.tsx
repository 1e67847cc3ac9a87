import { ProblemError } from '../../../src/client/index.ts';
import { Link } from '../router.tsx';

/** Shows an error as its problem+json says it: title, detail and each field problem, never a blank page. */
export function ProblemBanner({
  error,
  onRetry,
  id,
  hideFieldErrors = false,
  labelOf,
}: {
  error: unknown;
  onRetry?: () => void;
  /** Makes the banner focusable under this id, for a form to move focus to it after a refusal. */
  id?: string;
  /** The form shows the field problems next to its fields and in its own summary. */
  hideFieldErrors?: boolean;
  /** A field's label by its JSON pointer (`/config/limits/maxRunningJobs` → "Max running jobs"). */
  labelOf?: (path: string) => string | undefined;
}) {
  if (!error) return null;
  const problem =
    error instanceof ProblemError
      ? error.problem
      : {
          title: 'Something went wrong',
          detail: error instanceof Error ? error.message : String(error),
          status: 0,
        };
  const fieldErrors = 'errors' in problem ? (problem.errors ?? []) : [];
  const errors = hideFieldErrors ? [] : fieldErrors;
  // A validation problem's detail restates its first field problem: where the form lists those, drop it.
  const detail = hideFieldErrors && fieldErrors.length > 0 ? undefined : problem.detail;
  return (
    <div className="banner banner-error" role="alert" id={id} tabIndex={id ? -1 : undefined}>
      <p className="banner-title">
        {problem.title}
        {problem.status ? <span className="muted"> ({problem.status})</span> : null}
      </p>
      {detail ? <p>{detail}</p> : null}
      {errors.length > 0 ? (
        <ul>
          {errors.map((e) => (
            <li key={`${e.path}:${e.message}`}>
              {labelOf?.(e.path) ?? <code>{e.path || '/'}</code>} {e.message}
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

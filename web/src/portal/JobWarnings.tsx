import type { JobWarning } from '../../../src/client/index.ts';

/** Where a warning points: the input field (`/input/discountRate` → `discountRate`) or the result figure. */
function subject(w: JobWarning): string | undefined {
  if (w.path) return w.path.replace(/^\/input\//, '').replace(/\//g, '.');
  return w.figure;
}

/**
 * The job's warnings (the API's `warnings[]`): inputs that look mistyped and figures that may mislead.
 * The job ran regardless; these ask the user to look again.
 */
export function JobWarnings({ warnings }: { warnings: JobWarning[] }) {
  if (warnings.length === 0) return null;
  return (
    <section className="banner banner-warning" aria-labelledby="warnings-heading">
      <h2 className="banner-title" id="warnings-heading">
        {warnings.length === 1 ? 'Warning' : `${warnings.length} warnings`}: check before you rely on these
        numbers
      </h2>
      <ul>
        {warnings.map((w, i) => (
          <li key={`${w.code}:${w.path ?? w.figure ?? i}`} data-code={w.code}>
            {subject(w) ? <code>{subject(w)}</code> : null} {w.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * Who reads an error answer. A 5xx is the platform's fault, and its words are written for operators: the
 * path of a folder that cannot be read (`releases_unreadable`), a damaged pointer's file or item
 * (`release_pointer_damaged`), a database file a migration waits on, an environment variable, a queue,
 * table or function name. An authenticated operator gets them; anyone else (a tenant, an anonymous
 * caller) gets the same `status` and `code` with a fixed sentence and no `details`, and the full error
 * goes to the log. A 4xx is the caller's own fault, written for the caller, and is shown as it is.
 */
export type ProblemAudience = 'operator' | 'tenant';

/**
 * 5xx codes whose words are written for the tenant: its own settings, which it can read and change
 * (the job failure of the same code shows them too, src/core/failure.ts).
 */
const TENANT_WORDED_CODES: ReadonlySet<string> = new Set(['tenant_settings_invalid']);

/** Fields every problem has; anything else is the error's `details`, which a tenant's 5xx does not carry. */
const PROBLEM_FIELDS: ReadonlySet<string> = new Set([
  'type',
  'title',
  'status',
  'detail',
  'code',
  'instance',
]);

const RELEASES =
  'The model releases this server runs cannot be read just now; operators can see why. Try again later.';
const FIXED_DETAILS: Readonly<Record<string, string>> = {
  releases_unreadable: RELEASES,
  release_pointer_damaged: RELEASES,
  storage_full:
    'The server has no free disk space to store this request; nothing was changed. Try again later.',
  internal: 'Something went wrong on our side; the error is logged.',
  timeout: 'The function ran past its time limit and was stopped.',
};
const PLATFORM_FAULT =
  'A platform service cannot answer this request just now; operators can see why. Try again later.';

/**
 * `body` as `audience` may read it: unchanged for an operator, for a 4xx, and for the 5xx codes worded for
 * tenants; else the same `status` and `code` with a fixed sentence as `detail` and no `details`.
 */
export function problemFor<P extends { status: number; code: string; detail: string }>(
  body: P,
  audience: ProblemAudience,
): P {
  if (audience === 'operator' || body.status < 500 || TENANT_WORDED_CODES.has(body.code)) return body;
  const kept = Object.fromEntries(Object.entries(body).filter(([key]) => PROBLEM_FIELDS.has(key)));
  return {
    ...(kept as P),
    detail: Object.hasOwn(FIXED_DETAILS, body.code) ? FIXED_DETAILS[body.code]! : PLATFORM_FAULT,
  };
}

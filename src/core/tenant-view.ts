import { failureForTenant, INTERNAL_FAILURE, INTERNAL_MESSAGE, isFailureCode } from './failure.ts';
import type { JobRecord } from './job.ts';
import type { JobLogEntry, JobStory, StoryEvent } from './job-story.ts';

/**
 * What a tenant may see of its own job records, decided in one place and at read time, so a record written
 * by any release is safe to show: before failures were split into a tenant's sentence and the operators'
 * `internal` cause, records kept OS, SDK and database messages (paths, hosts, SQL, table names) in
 * `error.message`, in story `detail`s and in log `fields.error`, and operators' identities in `detail`.
 * Every tenant-facing output (the API's job views, timeline and log, event streams, webhooks, notifications,
 * the offboarding export) passes its records through `jobForTenant` or the parts below.
 */

/** Who a view is for: a tenant never sees a failure's raw cause (`internal`), operators do. */
export type ViewAudience = 'tenant' | 'operator';

/** Steps whose `detail` is a failure, written as `code: message`. */
const FAILURE_STEPS = new Set<StoryEvent['step']>(['attempt_failed', 'failed', 'dead_lettered']);
/** Failure details that are fixed sentences, not `code: message` (src/core/job-story.ts `startEvents`). */
const FIXED_FAILURE_DETAILS = new Set(['the delivery ended without finishing (a crash or a timeout)']);
/** Steps someone took: the tenant reads that an operator did, never which one. */
const ACTION_STEPS = new Set<StoryEvent['step']>(['retried', 'cancelled', 'redriven']);
const ACTION_DETAILS = new Set(['by the tenant', 'by an operator']);
/** A redrive's source queue (src/control/dead-letters.ts), which the story's `lane` shows anyway. */
const QUEUE_NAME = /^[a-z0-9][a-z0-9_-]{0,79}$/;

function detailForTenant(step: StoryEvent['step'], detail: string): string | undefined {
  if (FAILURE_STEPS.has(step)) {
    if (FIXED_FAILURE_DETAILS.has(detail)) return detail;
    // Older releases wrote the raw cause itself (`connect: ECONNREFUSED …`): a known code or nothing.
    const at = detail.indexOf(': ');
    const code = at > 0 ? detail.slice(0, at) : '';
    const shown = isFailureCode(code)
      ? failureForTenant({ code, message: detail.slice(at + 2) })
      : { code: INTERNAL_FAILURE, message: INTERNAL_MESSAGE };
    return `${shown.code}: ${shown.message}`;
  }
  if (ACTION_STEPS.has(step)) {
    if (ACTION_DETAILS.has(detail)) return detail;
    // Before operators' identities moved to `internal`, the step said `by <operator>`.
    if (detail.startsWith('by ')) return 'by an operator';
    return QUEUE_NAME.test(detail) ? detail : undefined;
  }
  return detail;
}

/** A story step as its tenant sees it: no `internal`, and a `detail` judged as above. */
export function storyEventForTenant(event: StoryEvent): StoryEvent {
  const { internal: _internal, detail, ...rest } = event;
  const shown = typeof detail === 'string' ? detailForTenant(event.step, detail) : undefined;
  return shown === undefined ? rest : { ...rest, detail: shown };
}

/** Log messages the job handler writes with a failure's code in `fields` (the message itself is fixed). */
const FIXED_LOG_MESSAGES = new Set(['attempt failed; it will be retried', 'job failed', 'retries exhausted']);

/**
 * A log line as its tenant sees it: no `internal`, no `fields.error` (the raw cause, before `internal`
 * existed), `fields.by` as a step's actor, and a message that is a failure's (`fields.code` beside it)
 * judged as a failure.
 */
export function logForTenant(entry: JobLogEntry): JobLogEntry {
  const { internal: _internal, fields, ...rest } = entry;
  if (!fields) return rest;
  const { error: _error, ...kept } = fields;
  // `job retried` and the like name who acted, as the step does (older records: the operator's subject).
  if (typeof kept['by'] === 'string' && !ACTION_DETAILS.has(kept['by'])) kept['by'] = 'by an operator';
  const code = kept['code'];
  const message =
    typeof code === 'string' && !FIXED_LOG_MESSAGES.has(rest.message)
      ? failureForTenant({ code, message: rest.message }).message
      : rest.message;
  return { ...rest, message, ...(Object.keys(kept).length > 0 ? { fields: kept } : {}) };
}

function storyForTenant(story: JobStory): JobStory {
  return {
    ...story,
    events: (story.events ?? []).map(storyEventForTenant),
    logs: (story.logs ?? []).map(logForTenant),
  };
}

/**
 * A job record as its tenant may see it, whatever release wrote it: its failure, story steps and log
 * lines judged as above, operators' `internal` causes dropped. The same record shape, so views built
 * from it (src/core/job-view.ts) and exports of whole records stay as they are.
 */
export function jobForTenant<T extends Pick<JobRecord, 'error' | 'story'>>(job: T): T {
  const { error, story, ...rest } = job;
  return {
    ...(rest as T),
    ...(error ? { error: failureForTenant(error) } : {}),
    ...(story ? { story: storyForTenant(story) } : {}),
  };
}

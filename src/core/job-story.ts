import { parseQueueName } from './placement.ts';

/**
 * The steps of a job's life, in the order a successful run passes them. `attempt_failed`, `retried`,
 * `dead_lettered`, `redriven` and `cancelled` are the detours: a delivery that threw, an operator's retry,
 * a message moved to the dead-letter queue, one sent back from it, a cancel.
 */
export type StoryStep =
  | 'submitted'
  | 'admitted'
  | 'queued'
  | 'claimed'
  | 'running'
  | 'rendering'
  | 'stored'
  | 'succeeded'
  | 'failed'
  | 'notified'
  | 'attempt_failed'
  | 'retried'
  | 'dead_lettered'
  | 'redriven'
  | 'cancelled';

/** One step as recorded: when, and where it happened. */
export interface StoryEvent {
  step: StoryStep;
  /** ISO 8601 time of the step. */
  at: string;
  /** The delivery this step belongs to (1 for the first run). */
  attempt?: number;
  /** The queue (lane) the message came from. */
  lane?: string;
  /** The function that ran it: `shared:<model>` (a thread of the shared pool) or `dedicated:<tenant>:<model>`. */
  fn?: string;
  /** A short free text for the job's tenant: the notification channel, a failure's code and safe message, who retried. */
  detail?: string;
  /** Operators only (tenant views drop it): the raw cause of a failure (src/core/failure.ts). */
  internal?: string;
}

/** A structured log line of one job; it lives in the job's record, so it is as tenant-scoped as the job. */
export interface JobLogEntry {
  at: string;
  level: 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, string | number | boolean>;
  /** Operators only (tenant views drop it): the raw cause of a failure (src/core/failure.ts). */
  internal?: string;
}

/** What a job's record keeps of its life: the trace it belongs to, its steps and its log. */
export interface JobStory {
  /** W3C trace id (32 hex digits) of the submit, which every later span of the job joins. */
  traceId?: string;
  /**
   * The submit span as a W3C `traceparent`: what joins later work that no message carries (a status
   * relayed to event streams, an operator's action) to the job's trace.
   */
  traceparent?: string;
  events: StoryEvent[];
  logs: JobLogEntry[];
}

/** Bounds that keep a record small (a DynamoDB item is at most 400 KB): the oldest entries after the first go. */
export const MAX_STORY_EVENTS = 100;
export const MAX_STORY_LOGS = 100;

/**
 * The `story` patch of a job with `events` and `logs` appended, for the same compare-and-set write as the
 * state change they describe: a step is recorded exactly when its change commits, never twice.
 */
export function storyWith(
  job: { story?: JobStory | undefined },
  events: readonly StoryEvent[],
  logs: readonly JobLogEntry[] = [],
): { story: JobStory } {
  const current = job.story ?? { events: [], logs: [] };
  return {
    story: {
      ...current,
      events: bounded([...current.events, ...events], MAX_STORY_EVENTS),
      logs: bounded([...current.logs, ...logs], MAX_STORY_LOGS),
    },
  };
}

/** Keeps the first entry (how the job began) and the newest ones. */
function bounded<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  return [items[0]!, ...items.slice(items.length - max + 1)];
}

/** One step of a timeline: the recorded event with how long the job stayed in it. */
export interface TimelineEntry extends StoryEvent {
  /** Milliseconds until the next step; absent for the last step. */
  durationMs?: number;
}

/**
 * A job's timeline, oldest step first: each step lasts until the next one. Steps are ordered by time and,
 * at the same millisecond, in recorded order (a stable sort), so `submitted → admitted → queued` keep theirs.
 */
export function timelineOf(job: { story?: JobStory | undefined }): TimelineEntry[] {
  const events = [...(job.story?.events ?? [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return events.map((event, i) => {
    const next = events[i + 1];
    return next ? { ...event, durationMs: Math.max(0, Date.parse(next.at) - Date.parse(event.at)) } : event;
  });
}

/** The function name shown in a story (see `StoryEvent.fn`), from the lane's queue and the job. */
export function functionNameOf(lane: string, job: { model: string }): string {
  const parsed = parseQueueName(lane);
  return parsed?.tenantId ? `dedicated:${parsed.tenantId}:${job.model}` : `shared:${job.model}`;
}

/**
 * The steps of a delivery starting to run `job` (as it was before): claimed by a function of `lane`, then
 * running. A job found running was left by a delivery that ended without finishing (a crash or a timeout):
 * that attempt is recorded as failed first, unless that delivery recorded its own failure.
 */
export function startEvents(
  job: { status: string; attempts: number; model: string; story?: JobStory | undefined },
  lane: string,
  at = new Date().toISOString(),
): StoryEvent[] {
  const attempt = job.attempts + 1;
  const fn = functionNameOf(lane, job);
  const last = job.story?.events.at(-1);
  // A delivery that threw said so itself (`attempt_failed` of that attempt): not twice.
  const told = last?.step === 'attempt_failed' && last.attempt === job.attempts;
  return [
    ...(job.status === 'running' && !told
      ? [
          {
            step: 'attempt_failed' as const,
            at,
            attempt: job.attempts,
            detail: 'the delivery ended without finishing (a crash or a timeout)',
          },
        ]
      : []),
    { step: 'claimed', at, attempt, lane, fn },
    { step: 'running', at, attempt, lane, fn },
  ];
}

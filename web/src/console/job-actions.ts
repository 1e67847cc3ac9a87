import type { JobStatus } from '../../../src/client/index.ts';

export type JobActionName = 'retry' | 'cancel' | 'redrive';

/** Failure codes a redrive applies to: the job's message went to a dead-letter queue. */
const DEAD_LETTER_CODES = new Set(['dead_lettered', 'retries_exhausted']);

/**
 * The actions an operator can take on a job as it is now (the server decides again, and answers 409 if the
 * job moved on meanwhile): cancel while queued, retry once failed, redrive when dead-lettered.
 */
export function actionsFor(job: {
  status: JobStatus;
  error?: { code: string } | undefined;
}): { action: JobActionName; label: string }[] {
  if (job.status === 'queued') return [{ action: 'cancel', label: 'Cancel' }];
  if (job.status !== 'failed') return [];
  const retry = { action: 'retry' as const, label: 'Retry' };
  return DEAD_LETTER_CODES.has(job.error?.code ?? '')
    ? [{ action: 'redrive', label: 'Redrive' }, retry]
    : [retry];
}

import type { ChildProcess } from 'node:child_process';
import { ForbiddenError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import type { FunctionSettings } from '../core/tenant.ts';
import type { SendMessage } from '../ports/message-queue.ts';
import type { ChildReport, ChildRequest } from './child-protocol.ts';

// What a dedicated function process asks of its host besides answering its events: a job status to relay
// and a send to make. The process runs model code a release brings (a tenant's variant), so both are
// requests, checked here before the host acts on them (process-runtime.ts hands them over).

/**
 * The sends (webhook and notification announcements) one function process may have in flight through its
 * host: a job asks for one or two, and at most `reservedConcurrency` jobs run in it at once.
 */
export const maxSendsInFlight = (settings: FunctionSettings): number =>
  Math.max(64, 4 * settings.reservedConcurrency);

/**
 * How long the host takes over one send a process asked for, ms, before it answers the process with an error:
 * twice SQLite's 10 s busy timeout (an SQS send with the SDK's retries takes less). A queue call that never
 * answered held the job's announcement, and so the job, until the function's timeout (300 s by default), and
 * its place among `maxSendsInFlight` for good. The process's job fails and is retried with its message.
 */
export const SEND_REQUEST_TIMEOUT_MS = 20_000;

export interface ProcessRequestOptions {
  /** The function's name (`tenant_{id}_{model}`), for messages. */
  name: string;
  tenantId: TenantId;
  settings(): FunctionSettings;
  /** Makes a send; `running(jobId)` tells whether the process runs that job now. A ForbiddenError is a refusal. */
  send(queue: string, message: SendMessage, running: (jobId: string) => boolean): Promise<void>;
  onJob?(job: JobRecord): void;
  /** A request refused: the runtime logs some of them (ForbiddenError). */
  refuse(error: Error): void;
  /** The deadline of one send, ms; default SEND_REQUEST_TIMEOUT_MS. */
  sendTimeoutMs?: number;
  /** A send past its deadline (answered to the process with the same error). */
  onError?(error: unknown): void;
}

/**
 * The `job` and `send` reports of one process `proc`; `runs(jobId)` tells whether `proc` runs that job of its
 * tenant now (an event of it was sent there and not answered).
 */
export function createProcessRequests(
  options: ProcessRequestOptions,
  proc: ChildProcess,
  runs: (jobId: unknown) => boolean,
): {
  /** Relays the status to `onJob` if it is of a job of the process's tenant that the process runs now. */
  job(report: Extract<ChildReport, { type: 'job' }>): void;
  /**
   * Makes the send (or refuses it) and answers the process with `sent`, with the error if there was one; one
   * not done within `sendTimeoutMs` is answered with a `SendDeadlineError` then (its late end changes nothing).
   */
  send(report: Extract<ChildReport, { type: 'send' }>): void;
} {
  /** Sends asked for and not answered yet. */
  let sendsInFlight = 0;
  return {
    job(report) {
      // A status for another tenant's job, for a job it does not run, or after its event ended (a job id
      // made up stayed `running` in the metrics for good) is not relayed to event streams and metrics.
      const { tenantId, id } = report.job;
      if (tenantId !== options.tenantId)
        options.refuse(
          new ForbiddenError(
            `The function of tenant ${options.tenantId} reported a job of tenant ${tenantId}; ignored.`,
          ),
        );
      else if (!runs(id))
        options.refuse(
          new ForbiddenError(
            `The function ${options.name} reported job ${String(id).slice(0, 40)} that it is not running; ignored.`,
          ),
        );
      else options.onJob?.(report.job);
    },
    send(report) {
      let answered = false;
      const answer = (error?: unknown) => {
        if (answered) return;
        answered = true;
        if (proc.connected)
          proc.send({
            type: 'sent',
            id: report.id,
            ...(error !== undefined ? { error: String(error) } : {}),
          } satisfies ChildRequest);
      };
      // A flood of sends (each a queue write and a promise here) grew the host's memory without bound: past
      // the cap one is refused at once, answered with an error.
      const cap = maxSendsInFlight(options.settings());
      if (sendsInFlight >= cap) {
        const error = new ForbiddenError(
          `The function ${options.name} asked for more than ${cap} sends at once; refused.`,
        );
        options.refuse(error);
        answer(error);
        return;
      }
      sendsInFlight++;
      // Counted in flight until it ends, past its deadline too: a queue that never answers fills the cap,
      // and further sends are refused at once rather than piling up.
      const timeoutMs = options.sendTimeoutMs ?? SEND_REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => {
        const error = new SendDeadlineError(options.name, report.queue, timeoutMs);
        options.onError?.(error);
        answer(error);
      }, timeoutMs);
      timer.unref();
      options
        .send(report.queue, report.message, (jobId) => runs(jobId))
        .finally(() => {
          sendsInFlight--;
          clearTimeout(timer);
        })
        .then(
          () => answer(),
          (error: unknown) => {
            if (error instanceof ForbiddenError) options.refuse(error);
            answer(error);
          },
        );
    },
  };
}

/** A send a function process asked its host for that did not finish within its deadline (`SEND_REQUEST_TIMEOUT_MS`). */
export class SendDeadlineError extends Error {
  readonly code = 'send_deadline';
  constructor(name: string, queue: string, ms: number) {
    super(
      `The send to ${queue} that the function ${name} asked for did not finish within ${ms / 1000} s; answered with this error (the job is retried with its message).`,
    );
    this.name = 'SendDeadlineError';
  }
}

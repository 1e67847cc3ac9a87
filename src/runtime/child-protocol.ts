import type { ChildProcess } from 'node:child_process';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { decodeJobMessage, type JobMessage } from '../core/messages.ts';
import type { Tenant } from '../core/tenant.ts';
import type { SendMessage } from '../ports/message-queue.ts';

// The IPC protocol between a host (process-runtime.ts) and a dedicated function process (function-process.ts):
// what each side sends, and the host's checks of what it takes back.

/**
 * The argument a spare function process is forked with instead of a tenant's options (`argv[2]`): it loads,
 * says `{ type: 'spare' }` and waits for a `bind` (spare-processes.ts, function-process.ts).
 */
export const SPARE_ARGUMENT = 'spare';

/** What a dedicated function process is given: one tenant and the folder of its own store. */
export interface FunctionProcessOptions {
  tenantId: TenantId;
  /** `DATA_DIR/tenants/{id}`: its `jobs.sqlite` and `objects/`. */
  storeDir: string;
  maxReceiveCount?: number;
  /** The release this process runs (its code is loaded once; a new release gets a new process). */
  release?: string;
  releasesDir?: string;
  /**
   * The memory setting (MB) the process was started with (its `--max-old-space-size`; a spare's, taken only
   * when it is the function's), recorded on the jobs it runs and billed. Set by startFunctionChild.
   */
  memoryMb?: number;
}

export type ChildRequest =
  /** To a spare that said `spare`: the tenant it runs for from now on, once (spare-processes.ts). */
  | { type: 'bind'; options: FunctionProcessOptions }
  | { type: 'invoke'; id: number; event: SQSEvent; tenant: Tenant | undefined }
  | { type: 'sent'; id: number; error?: string };

export type ChildReport =
  /** A spare has loaded and waits for its `bind`. */
  | { type: 'spare' }
  | { type: 'ready' }
  | { type: 'result'; id: number; response: SQSBatchResponse }
  | { type: 'error'; id: number; message: string }
  | { type: 'job'; job: JobRecord }
  | { type: 'send'; id: number; queue: string; message: SendMessage };

/**
 * Where a function process is, as its host sees it: `starting` (forked or taken from the spares, no `ready` yet), `ready` (no event
 * sent to it unanswered), `busy` (events sent to it, not answered), `stopping` (signalled to end; it may
 * still answer what it was sent).
 */
export type ChildState = 'starting' | 'ready' | 'busy' | 'stopping';

/** An event for a function process, not answered yet. */
export interface Call {
  /** The one kind of call the host makes: an event to run, answered by one `result` or one `error`. */
  kind: 'invoke';
  /** `waiting` for its process to be ready, then `sent` until its answer. */
  state: 'waiting' | 'sent';
  proc: ChildProcess;
  /**
   * The jobs of the process's tenant the event carries, by id, with the message of each as the host sent it:
   * what the process may report on while it runs, and what the host bills them against (host-compute.ts).
   */
  jobs: ReadonlyMap<string, JobMessage>;
  resolve(response: SQSBatchResponse): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  /** When the host sent it (performance.now(), ms): the start of its jobs' billed run (host-compute.ts). */
  sentAt?: number;
  /** When the host last saw one of its jobs end an attempt (performance.now(), ms). */
  lastOutcomeAt?: number;
  /** Its jobs whose attempt the host saw end (each is billed once per event). */
  ended?: Set<string>;
}

/** Where `proc` is: `ready` (it reported so), `stopping` (the host signalled it), and the calls it was sent. */
export function childStateOf(
  proc: ChildProcess,
  seen: { ready: boolean; stopping: boolean },
  calls: Iterable<Call>,
): ChildState {
  if (seen.stopping) return 'stopping';
  if (!seen.ready) return 'starting';
  for (const call of calls) if (call.proc === proc && call.state === 'sent') return 'busy';
  return 'ready';
}

/**
 * Why `report` from `proc` breaks the protocol, or undefined when it fits the state the host holds `proc` in
 * (`seen`, and `calls`: the host's calls by id). The process runs a release's model code (a tenant's own
 * variant), so a report that fits no state the host is in means it is hostile or broken: its answers can no
 * longer be matched to events, and the host stops it.
 */
export function protocolViolation(
  proc: ChildProcess,
  seen: { ready: boolean; stopping: boolean; bound: boolean },
  calls: ReadonlyMap<number, Call>,
  report: ChildReport,
): string | undefined {
  const state = childStateOf(proc, seen, calls.values());
  switch (report.type) {
    case 'spare':
      // A spare says it once, before it is sent its tenant (`bind`); a forked process is bound from the start.
      return seen.bound ? `said it was a spare while ${state}, bound to its tenant` : undefined;
    case 'ready':
      // Once, after it was bound; a process stopped while it started may still say it (its `ready` crossed the stop).
      if (!seen.bound) return 'reported ready before it was sent its tenant';
      return seen.ready ? `reported ready again while ${state}` : undefined;
    case 'result':
    case 'error': {
      // One answer per event sent to this very process; one of another process, answered, or not sent yet
      // (waiting for the process to be ready) is not its to answer.
      const call = calls.get(report.id);
      if (call?.proc === proc && call.state === 'sent' && call.kind === 'invoke') return undefined;
      return `answered event ${String(report.id).slice(0, 20)} (${report.type}) while ${state}: an event it was not sent or had answered already`;
    }
    case 'job':
    case 'send':
      // Only an event's model code reports on jobs and asks for sends: nothing is sent before `ready`.
      return state === 'starting' ? `sent a ${report.type} report before it was ready` : undefined;
  }
}

/** The messages of the jobs of `tenantId` the event carries, by job id. */
export function jobsOf(event: SQSEvent, tenantId: TenantId): Map<string, JobMessage> {
  const jobs = new Map<string, JobMessage>();
  for (const record of event.Records) {
    const message = decodeJobMessage(record.body);
    if (message?.tenantId === tenantId) jobs.set(message.jobId, message);
  }
  return jobs;
}

/** `value` if it has the shape of a `ChildReport` (its fields' types, not their meaning), else undefined. */
export function childReportOf(value: unknown): ChildReport | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const object = (v: unknown) => typeof v === 'object' && v !== null;
  switch (r.type) {
    case 'ready':
    case 'spare':
      return r as ChildReport;
    case 'job':
      return object(r.job) && typeof (r.job as { tenantId?: unknown }).tenantId === 'string'
        ? (r as ChildReport)
        : undefined;
    case 'send':
      return typeof r.id === 'number' &&
        typeof r.queue === 'string' &&
        object(r.message) &&
        typeof (r.message as { body?: unknown }).body === 'string'
        ? (r as ChildReport)
        : undefined;
    case 'result':
      return typeof r.id === 'number' &&
        object(r.response) &&
        Array.isArray((r.response as { batchItemFailures?: unknown }).batchItemFailures)
        ? (r as ChildReport)
        : undefined;
    case 'error':
      return typeof r.id === 'number' ? (r as ChildReport) : undefined;
    default:
      return undefined;
  }
}

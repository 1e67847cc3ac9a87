import type { ChildProcess } from 'node:child_process';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { TenantId } from '../core/ids.ts';
import { decodeJobMessage } from '../core/messages.ts';
import type { ChildReport } from './function-process.ts';

// The host's side of the IPC protocol with a dedicated function process (see function-process.ts): the
// events it sends and what it takes back.

/**
 * Where a function process is, as its host sees it: `starting` (forked, no `ready` yet), `ready` (no event
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
  /** The jobs of the process's tenant the event carries: what the process may report on while it runs. */
  jobs: ReadonlySet<string>;
  resolve(response: SQSBatchResponse): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
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
  seen: { ready: boolean; stopping: boolean },
  calls: ReadonlyMap<number, Call>,
  report: ChildReport,
): string | undefined {
  const state = childStateOf(proc, seen, calls.values());
  switch (report.type) {
    case 'ready':
      // Once; a process stopped while it started may still say it (its `ready` crossed the stop).
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

/** The ids of the jobs of `tenantId` the event's messages carry. */
export function jobsOf(event: SQSEvent, tenantId: TenantId): Set<string> {
  const jobs = new Set<string>();
  for (const record of event.Records) {
    const message = decodeJobMessage(record.body);
    if (message?.tenantId === tenantId) jobs.add(message.jobId);
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

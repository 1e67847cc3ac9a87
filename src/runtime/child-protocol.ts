import type { ChildProcess } from 'node:child_process';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { TenantId } from '../core/ids.ts';
import { decodeJobMessage } from '../core/messages.ts';
import type { ChildReport } from './function-process.ts';

// The host's side of the IPC protocol with a dedicated function process (see function-process.ts): the
// events it sends and what it takes back.

/** An event sent to a function process and not answered yet. */
export interface Call {
  proc: ChildProcess;
  /** The jobs of the process's tenant the event carries: what the process may report on while it runs. */
  jobs: ReadonlySet<string>;
  resolve(response: SQSBatchResponse): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
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

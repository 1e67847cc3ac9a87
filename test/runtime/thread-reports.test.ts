import { describe, expect, it } from 'vitest';
import type { FunctionReport } from '../../src/runtime/function-runtime.ts';
import { createReportBatcher, jobNotice } from '../../src/runtime/thread-reports.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const started = (receiptHandle: string): FunctionReport => ({
  type: 'started',
  message: { queue: 'q', receiptHandle, body: '{}', receiveCount: 1 },
});
const finished = (receiptHandle: string): FunctionReport => ({ type: 'finished', queue: 'q', receiptHandle });

// A function thread's reports to its host (issue 14): one message per turn, but what the host needs before
// a synchronous model run (the claim, with the running status) must leave before the run starts.
describe('a function thread’s reports', () => {
  it('made in one turn go to the host together, at its end, in the order they were made', async () => {
    const posted: FunctionReport[][] = [];
    const reports = createReportBatcher((batch) => posted.push(batch), { batched: true });
    reports.add(finished('a'));
    reports.add(started('b'));
    expect(posted).toEqual([]);
    await nextTurn();
    expect(posted).toEqual([[finished('a'), started('b')]]);
    reports.add(finished('b'));
    await nextTurn();
    expect(posted).toHaveLength(2);
  });

  it('one that must not wait leaves at once, taking those queued before it', async () => {
    const posted: FunctionReport[][] = [];
    const reports = createReportBatcher((batch) => posted.push(batch), { batched: true });
    reports.add(started('a'));
    reports.add({ type: 'error', message: 'boom' }, true);
    // Synchronously: a model run starting now would otherwise hold the claim until it ended.
    expect(posted).toEqual([[started('a'), { type: 'error', message: 'boom' }]]);
    await nextTurn();
    expect(posted).toHaveLength(1);
  });

  it('each leave at once where a thread runs several jobs', () => {
    const posted: FunctionReport[][] = [];
    const reports = createReportBatcher((batch) => posted.push(batch), { batched: false });
    reports.add(started('a'));
    reports.add(finished('a'));
    expect(posted).toEqual([[started('a')], [finished('a')]]);
  });

  it('carry a job without its story’s timeline and log, keeping its trace ids', () => {
    const job = makeJob(randomTenantId(), {
      status: 'running',
      story: {
        traceId: 'a'.repeat(32),
        traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
        events: [{ step: 'running', at: new Date().toISOString(), attempt: 1 }],
        logs: [{ at: new Date().toISOString(), level: 'info', message: 'started', fields: {} }],
      },
    });
    const notice = jobNotice(job);
    expect(notice.story).toEqual({ traceId: job.story!.traceId, traceparent: job.story!.traceparent });
    const { story: _story, ...rest } = job;
    expect(notice).toMatchObject(rest);
  });
});

import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  type Call,
  type ChildReport,
  childReportOf,
  childStateOf,
  protocolViolation,
} from '../../src/runtime/child-protocol.ts';

// The host's table of which report fits which state of a function process. The states a release's model code
// can reach (busy, stopping) are shown with real processes in test/security/dedicated-process-protocol.test.ts;
// `starting` is reached only by the process's own code, before any model code is loaded.
const proc = {} as ChildProcess;
const other = {} as ChildProcess;
const call = (state: Call['state'], of = proc): Call => ({
  kind: 'invoke',
  state,
  proc: of,
  jobs: new Map(),
  resolve: () => undefined,
  reject: () => undefined,
  timer: setTimeout(() => undefined, 0),
});
const result: ChildReport = { type: 'result', id: 1, response: { batchItemFailures: [] } };
const error: ChildReport = { type: 'error', id: 1, message: 'x' };
const job = { type: 'job', job: {} } as ChildReport;
const send: ChildReport = { type: 'send', id: 1, queue: 'q', message: { body: '' } };

describe('the IPC protocol with a function process', () => {
  it('derives the state from ready, stopping and the calls sent to that process', () => {
    expect(childStateOf(proc, { ready: false, stopping: false }, [call('waiting')])).toBe('starting');
    expect(childStateOf(proc, { ready: true, stopping: false }, [call('waiting'), call('sent', other)])).toBe(
      'ready',
    );
    expect(childStateOf(proc, { ready: true, stopping: false }, [call('sent')])).toBe('busy');
    expect(childStateOf(proc, { ready: true, stopping: true }, [call('sent')])).toBe('stopping');
    expect(childStateOf(proc, { ready: false, stopping: true }, [])).toBe('stopping');
  });

  const starting = { ready: false, stopping: false, bound: true };
  const up = { ready: true, stopping: false, bound: true };
  const stopped = { ready: true, stopping: true, bound: true };
  /** A spare taken by a cold start, not sent its tenant yet. */
  const unbound = { ready: false, stopping: false, bound: false };
  const calls = (...list: Call[]) => new Map(list.map((c, i) => [i + 1, c]));

  it('takes spare once, from a spare not sent its tenant yet, and ready only after that', () => {
    expect(protocolViolation(proc, unbound, calls(), { type: 'spare' })).toBeUndefined();
    expect(protocolViolation(proc, unbound, calls(), { type: 'ready' })).toMatch(
      'ready before it was sent its tenant',
    );
    expect(protocolViolation(proc, starting, calls(), { type: 'spare' })).toMatch('bound to its tenant');
    expect(protocolViolation(proc, up, calls(), { type: 'spare' })).toMatch(
      'said it was a spare while ready',
    );
    expect(childReportOf({ type: 'spare' })).toEqual({ type: 'spare' });
  });

  it('takes ready once (also from a process stopped while it started)', () => {
    expect(protocolViolation(proc, starting, calls(), { type: 'ready' })).toBeUndefined();
    expect(
      protocolViolation(proc, { ready: false, stopping: true, bound: true }, calls(), { type: 'ready' }),
    ).toBeUndefined();
    expect(protocolViolation(proc, up, calls(), { type: 'ready' })).toMatch('ready again while ready');
    expect(protocolViolation(proc, up, calls(call('sent')), { type: 'ready' })).toMatch(
      'ready again while busy',
    );
    expect(protocolViolation(proc, stopped, calls(), { type: 'ready' })).toMatch(
      'ready again while stopping',
    );
  });

  it('takes one answer per event sent to that very process, while busy or stopping', () => {
    for (const answer of [result, error]) {
      expect(protocolViolation(proc, up, calls(call('sent')), answer)).toBeUndefined();
      expect(protocolViolation(proc, stopped, calls(call('sent')), answer)).toBeUndefined();
      // Not outstanding (made up, or answered already), another process's, or not sent yet.
      expect(protocolViolation(proc, up, calls(), answer)).toMatch(/answered event 1 .* while ready/);
      expect(protocolViolation(proc, up, calls(call('sent', other)), answer)).toMatch(/while ready/);
      expect(protocolViolation(proc, starting, calls(call('waiting')), answer)).toMatch(/while starting/);
      expect(protocolViolation(proc, stopped, calls(call('waiting', other)), answer)).toMatch(
        /while stopping/,
      );
    }
  });

  it('takes job reports and sends only once the process is ready (what they name is checked after)', () => {
    for (const report of [job, send]) {
      expect(protocolViolation(proc, starting, calls(), report)).toMatch(/before it was ready/);
      for (const seen of [up, stopped])
        expect(protocolViolation(proc, seen, calls(), report)).toBeUndefined();
      expect(protocolViolation(proc, up, calls(call('sent')), report)).toBeUndefined();
    }
  });
});

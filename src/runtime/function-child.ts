import type { ChildProcess } from 'node:child_process';
import type { TenantId } from '../core/ids.ts';
import { isTerminal, type JobRecord } from '../core/job.ts';
import type { FunctionSettings } from '../core/tenant.ts';
import type { SendMessage } from '../ports/message-queue.ts';
import {
  type Call,
  type ChildRequest,
  childReportOf,
  type FunctionProcessOptions,
  protocolViolation,
} from './child-protocol.ts';
import type { HostCompute } from './host-compute.ts';
import { createProcessRequests } from './process-requests.ts';
import { forkFunctionProcess, LOAD_TIMEOUT_MS, type SpareProcesses } from './spare-processes.ts';
import { watchStartErrors } from './start-failure.ts';

// One process of a dedicated function, from its start (a fork, or a spare taken and bound) to its exit: what
// its reports mean to the host. The function around it (process-runtime.ts) decides when processes start
// and stop, and what an exit costs.

/**
 * How long a process may take from its start (its fork, or the take of a spare) to `ready`, ms: a spare's load
 * deadline (a fork is ready in 0.1–0.3 s, through tsx in 2–3 s). One not ready by then is stuck (release code
 * that hangs at load, a store that does not open); held, it made every event of its function wait for it
 * until the event's timeout (300 s by default), and a provisioned function for good.
 */
export const START_TIMEOUT_MS = LOAD_TIMEOUT_MS;

/** What a function's process session needs of the function it serves (process-runtime.ts). */
export interface FunctionChildHost {
  /** The function's name (`tenant_{id}_{model}`), for messages. */
  name: string;
  tenantId: TenantId;
  /** The options the process runs with: its tenant and store folder (argv of a fork, `bind` of a spare). */
  child: FunctionProcessOptions;
  settings(): FunctionSettings;
  spares?: Pick<SpareProcesses, 'take'>;
  /** The start deadline, ms; default START_TIMEOUT_MS. */
  startTimeoutMs?: number;
  /** The deadline of one send the process asks for, ms; default SEND_REQUEST_TIMEOUT_MS (process-requests.ts). */
  sendTimeoutMs?: number;
  /** The function's events not answered yet, by id (of this process and of others). */
  calls: Map<number, Call>;
  /** The host's compute figures of the function's jobs: a finished job is relayed with them. */
  compute?: HostCompute;
  /** Whether the host signalled `proc` to end. */
  isStopping(proc: ChildProcess): boolean;
  /** Whether the host stopped `proc` for breaking the protocol: nothing it says counts any more. */
  isBroken(proc: ChildProcess): boolean;
  /** Stops `proc` for a report that fits none of its states (`why`). */
  breakOff(proc: ChildProcess, why: string): void;
  /** Kills `proc` and its process group (it missed its start deadline). */
  kill(proc: ChildProcess): void;
  /** A report refused (logged a few times). */
  refuse(error: Error): void;
  send(queue: string, message: SendMessage, running: (jobId: string) => boolean): Promise<void>;
  onJob?(job: JobRecord): void;
  /**
   * The record of a job of the process's tenant as its store holds it now (the server's read): a job whose
   * end the process did not report is billed from it when finished, at the host's figures.
   */
  readJob?(jobId: string): Promise<JobRecord | undefined>;
  /** Jobs whose unreported end is being read (`readJob`): the host's to meter, as a job in flight is. */
  settling?: Set<string>;
  onError?(error: unknown): void;
  /** `proc` said `ready`, `ms` after its start. */
  onReady(proc: ChildProcess, ms: number): void;
  /** An event of `proc` was answered (its call resolved or rejected and removed from `calls`). */
  onAnswer(): void;
  /** `proc` exited; `readyAt` is when it said ready (performance.now(), ms), undefined if it never did. */
  onExit(
    proc: ChildProcess,
    exit: { code: number | null; signal: NodeJS.Signals | null; readyAt?: number },
  ): void;
}

/**
 * Starts one process for the function: a spare taken from `host.spares` (sent its tenant, `bind`, once it has
 * loaded) or a fork of its own. Throws, changing nothing, when a fork starts no process (ENOMEM, EAGAIN).
 * Either is killed (`host.kill`) when it is not ready within `host.startTimeoutMs` of this call: a spare's
 * load deadline is its pool's only while the pool holds it.
 * @returns the process, where it came from, and a promise that resolves when it is ready and rejects when it
 *   ends before (with the line of its stderr that says why) or misses its start deadline
 */
export function startFunctionChild(host: FunctionChildHost): {
  proc: ChildProcess;
  startedFrom: 'spare' | 'fork';
  whenReady: Promise<void>;
} {
  const started = performance.now();
  const memoryMb = host.settings().memoryMb;
  // The process knows the memory it runs with: its jobs are billed at it, whatever the setting says later.
  const options: FunctionProcessOptions = { ...host.child, memoryMb };
  const spare = host.spares?.take(memoryMb);
  const proc = spare?.proc ?? forkFunctionProcess(JSON.stringify(options), memoryMb);
  let bound = spare === undefined;
  const bind = () => {
    bound = true;
    // Never to a process signalled to end (its lane closed, the server stops): its `spare` crossed the
    // stop, and bound now it would open the store of a tenant perhaps demoted or offboarded meanwhile.
    if (proc.connected && !host.isStopping(proc)) proc.send({ type: 'bind', options } satisfies ChildRequest);
  };
  if (spare?.loaded) bind();
  // A spare's stderr from before it was taken too: the why of a crash read just before the take was lost.
  const starting = watchStartErrors(proc, spare?.stderr);
  /** The event sent to this process, not answered yet, that carries the job. */
  const callOf = (jobId: unknown): Call | undefined => {
    for (const call of host.calls.values())
      if (call.proc === proc && call.state === 'sent' && call.jobs.has(jobId as string)) return call;
    return undefined;
  };
  const runs = (jobId: unknown): boolean => callOf(jobId) !== undefined;
  const { onJob, compute } = host;
  // Relayed (and metered) with the host's figures: the memory it started this process with, the run it saw.
  const relay = (job: JobRecord) => {
    const call = callOf(job.id);
    onJob?.(call && compute ? compute.observe(job, { call, memoryMb }, performance.now()) : job);
  };
  /**
   * The jobs of `call` whose end the process did not report when the event was answered or the process
   * ended: read from the store, and a finished one relayed (and metered) at the host's figures. A process that
   * commits a finish and never reports it left the metering pass its record to bill, its own figures.
   */
  const settleUnreported = (call: Call) => {
    const { readJob, settling } = host;
    if (!onJob || !compute || !readJob) return;
    for (const message of compute.unreported({ call, memoryMb }, performance.now())) {
      settling?.add(message.jobId);
      readJob(message.jobId)
        .then(
          (job) => {
            if (job && isTerminal(job.status)) onJob(compute.finish(job, message, memoryMb));
          },
          (error: unknown) => host.onError?.(error),
        )
        .finally(() => settling?.delete(message.jobId));
    }
  };
  const requests = createProcessRequests(
    {
      name: host.name,
      tenantId: host.tenantId,
      settings: host.settings,
      send: host.send,
      ...(onJob ? { onJob: relay } : {}),
      refuse: host.refuse,
      ...(host.sendTimeoutMs !== undefined ? { sendTimeoutMs: host.sendTimeoutMs } : {}),
      ...(host.onError ? { onError: host.onError } : {}),
    },
    proc,
    runs,
  );
  /** When it reported ready (performance.now(), ms). */
  let readyAt: number | undefined;
  const startTimeoutMs = host.startTimeoutMs ?? START_TIMEOUT_MS;
  let deadline: NodeJS.Timeout | undefined;
  const whenReady = new Promise<void>((resolve, reject) => {
    deadline = setTimeout(() => {
      reject(
        new Error(
          `The function process ${host.name} (pid ${proc.pid}, ${spare ? 'a spare taken' : 'forked'}) was not ready within ${startTimeoutMs / 1000} s; killed.`,
        ),
      );
      host.kill(proc);
    }, startTimeoutMs);
    deadline.unref();
    proc.on('message', (received: unknown) => {
      if (host.isBroken(proc)) return;
      // The child runs a release's model code: a report that is not one of ours is dropped, never thrown
      // in this listener (which would end the server).
      const report = childReportOf(received);
      if (!report) {
        host.refuse(new Error(`The function process ${host.name} sent a malformed report; ignored.`));
        return;
      }
      const seen = { ready: readyAt !== undefined, stopping: host.isStopping(proc), bound };
      const violation = protocolViolation(proc, seen, host.calls, report);
      if (violation) {
        host.breakOff(proc, violation);
        return;
      }
      if (report.type === 'spare') bind();
      else if (report.type === 'ready') {
        readyAt = performance.now();
        clearTimeout(deadline);
        starting.ready();
        resolve();
        host.onReady(proc, readyAt - started);
      } else if (report.type === 'job') requests.job(report);
      else if (report.type === 'send') requests.send(report);
      else {
        // It fits: an event sent to this process and not answered yet.
        const call = host.calls.get(report.id);
        if (!call) return;
        host.calls.delete(report.id);
        clearTimeout(call.timer);
        settleUnreported(call);
        if (report.type === 'result') call.resolve(report.response);
        else call.reject(new Error(report.message));
        host.onAnswer();
      }
    });
    proc.on('error', (error) => {
      host.onError?.(error);
      reject(error);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(deadline);
      for (const call of host.calls.values())
        if (call.proc === proc && call.state === 'sent') settleUnreported(call);
      if (readyAt === undefined) {
        const exited = `The function process exited (${signal ?? code}) before it was ready`;
        starting.reason().then((why) => reject(new Error(why ? `${exited}: ${why}` : `${exited}.`)));
      }
      host.onExit(proc, { code, signal, ...(readyAt !== undefined ? { readyAt } : {}) });
    });
  });
  whenReady.catch(() => undefined);
  return { proc, startedFrom: spare ? 'spare' : 'fork', whenReady };
}

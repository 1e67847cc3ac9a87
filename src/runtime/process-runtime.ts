import type { ChildProcess } from 'node:child_process';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { BackoffPolicy } from '../core/backoff.ts';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import type { FunctionSettings, Tenant } from '../core/tenant.ts';
import type { SendMessage } from '../ports/message-queue.ts';
import { type Call, type ChildRequest, type FunctionProcessOptions, jobsOf } from './child-protocol.ts';
import { startFunctionChild } from './function-child.ts';
import type { FunctionRuntime } from './function-runtime.ts';
import { createHostCompute } from './host-compute.ts';
import { hasEnded, stopProcess } from './process-stop.ts';
import { createRestartBackoff } from './restart-backoff.ts';
import { createSlotReservations, FunctionBusyError } from './slot-reservations.ts';
import type { SpareProcesses } from './spare-processes.ts';

export interface FunctionInfo {
  name: string;
  tenantId: TenantId;
  model: string;
  pid?: number;
  state: 'cold' | 'warm';
  /** The last cold start: fork (or a spare's hand-over) until the handler is ready, milliseconds. */
  coldStartMs?: number;
  /** Where the last cold start's process came from: a spare forked ahead (spare-processes.ts) or a fork of its own. */
  startedFrom?: 'spare' | 'fork';
  coldStarts: number;
  inFlight: number;
  settings: FunctionSettings;
  /** The release whose code the process runs. */
  release?: string;
}

export interface ProcessRuntimeOptions {
  name: string;
  tenantId: TenantId;
  model: string;
  settings: FunctionSettings;
  /** What the child opens: the tenant's own store folder, nothing else. */
  child: FunctionProcessOptions;
  /** The tenant record sent with every event (the child has no access to the tenant directory). */
  tenant(): Promise<Tenant | undefined>;
  /**
   * The child's handler sends its job's announcements through the parent. `running` tells whether the
   * process runs that job of its tenant now (the only jobs it may announce); a `ForbiddenError` thrown here
   * is a refusal, logged (a few times per process) and answered to the child.
   */
  send(queue: string, message: SendMessage, running: (jobId: string) => boolean): Promise<void>;
  /** A status the child reports for the job of an event it runs now, of its own tenant; never any other. */
  onJob?(job: JobRecord): void;
  /** The tenant's job record as its store holds it (a finish the process did not report is billed from it). */
  readJob?(jobId: string): Promise<JobRecord | undefined>;
  onColdStart?(info: FunctionInfo, ms: number): void;
  onError?(error: unknown): void;
  /** Spare processes a cold start takes one of instead of forking (the host's; none: every start forks). */
  spares?: Pick<SpareProcesses, 'take'>;
  /**
   * How long a process may take from its fork (or a spare's take) to `ready`, ms; default START_TIMEOUT_MS
   * (function-child.ts). One that has not is killed with its process group: the events waiting for it fail
   * (and are retried), a provisioned function starts another after its growing wait.
   */
  startTimeoutMs?: number;
  /**
   * How long the host takes over one send a process asks for before it answers it with an error, ms; default
   * SEND_REQUEST_TIMEOUT_MS (process-requests.ts).
   */
  sendTimeoutMs?: number;
}

export interface ProcessRuntime extends FunctionRuntime {
  info(): FunctionInfo;
  /** Whether an event carrying the job (of the function's tenant) waits for or runs in one of its processes. */
  carries(jobId: string): boolean;
  updateSettings(settings: FunctionSettings): void;
}

/** The wait before a provisioned process that failed to start is started again, doubled for each failure. */
const WARM_RETRY: BackoffPolicy = { baseMs: 1000, maxMs: 30_000 };
/** A provisioned process that ends sooner than this after `ready` counts as a failed start (ms). */
const WARM_MIN_LIFE_MS = 10_000;
/** How long a function process may take to end after SIGTERM before it is killed (idle stop, settings change). */
const STOP_GRACE_MS = 5000;
/** The same when the host closes (the server stops): shorter, the server's own stop is waiting. */
const CLOSE_GRACE_MS = 2000;

/**
 * One dedicated (tenant, model) function: a child process started on the first event (a real cold start),
 * kept while events arrive, stopped after `idleTimeoutSec` without any (scale to zero). Reserved concurrency
 * is the number of events in flight; a timed-out event kills the process, as Lambda does with its sandbox.
 */
export function createProcessRuntime(options: ProcessRuntimeOptions): ProcessRuntime {
  let settings = options.settings;
  let child: ChildProcess | undefined;
  let ready: Promise<void> | undefined;
  let coldStartMs: number | undefined;
  let startedFrom: 'spare' | 'fork' | undefined;
  let coldStarts = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  /** Processes in a row that failed to start: a provisioned one is tried again after longer. */
  const warmRestarts = createRestartBackoff(WARM_RETRY, () => keepWarm());
  let closed = false;
  let nextId = 1;
  const calls = new Map<number, Call>();
  // Its jobs are billed at what the host saw, not at what its processes say (host-compute.ts).
  const compute = createHostCompute(() => settings.timeoutSec * 1000);
  /** Jobs whose end a process did not report, their records being read to bill them (function-child.ts). */
  const settling = new Set<string>();
  /** Events started and not finished, counted from the first synchronous step of `run` (calls come later). */
  let active = 0;
  const reservations = createSlotReservations({
    name: options.name,
    unused: () => Math.max(0, settings.reservedConcurrency - active),
    run: (event) => {
      active++;
      return run(event).finally(() => {
        active--;
        wake();
      });
    },
  });
  const wake = () => reservations.changed();
  /** Reports refused: logged the first few times and then every thousandth, so a flood floods no log. */
  let refusedReports = 0;
  const refuse = (error: Error) => {
    refusedReports++;
    if (refusedReports <= 10 || refusedReports % 1000 === 0)
      options.onError?.(
        refusedReports <= 10 ? error : new Error(`${error.message} (${refusedReports} refused)`),
      );
  };
  /** Processes the host signalled to end. */
  const stopping = new WeakSet<ChildProcess>();
  /** Processes ended for a new memory setting (retireStale). */
  const retired = new WeakSet<ChildProcess>();
  /** The memory setting the current process was forked with (MiB), and whether it has said `ready`. */
  let childMemoryMb = 0;
  let childReady = false;
  /** Every process forked and not exited, `child` and those stopping: `close` ends them all. */
  const live = new Set<ChildProcess>();
  /** Processes stopped for a report that fits none of their states: nothing they say after counts. */
  const broken = new WeakSet<ChildProcess>();
  /** Stops `proc` as if it crashed: its events fail and their messages are delivered again. */
  const breakOff = (proc: ChildProcess, why: string) => {
    broken.add(proc);
    options.onError?.(
      new Error(
        `The function process ${options.name} (pid ${proc.pid}) broke the IPC protocol: it ${why}; stopped, its events are retried.`,
      ),
    );
    stop(proc, 'SIGKILL');
  };

  const info = (): FunctionInfo => ({
    name: options.name,
    tenantId: options.tenantId,
    model: options.model,
    ...(child?.pid !== undefined ? { pid: child.pid } : {}),
    state: child ? 'warm' : 'cold',
    ...(coldStartMs !== undefined ? { coldStartMs } : {}),
    ...(startedFrom ? { startedFrom } : {}),
    coldStarts,
    inFlight: calls.size,
    settings,
    ...(options.child.release ? { release: options.child.release } : {}),
  });

  function failAll(reason: string, proc?: ChildProcess): void {
    for (const [id, call] of calls) {
      if (proc && call.proc !== proc) continue;
      clearTimeout(call.timer);
      calls.delete(id);
      call.reject(new Error(reason));
    }
    wake();
  }

  /** Starts a process (throws, changing nothing, when a fork starts none); resolves once it is ready. */
  function start(): Promise<void> {
    const {
      proc,
      startedFrom: from,
      whenReady,
    } = startFunctionChild({
      name: options.name,
      tenantId: options.tenantId,
      child: options.child,
      settings: () => settings,
      ...(options.spares ? { spares: options.spares } : {}),
      ...(options.startTimeoutMs !== undefined ? { startTimeoutMs: options.startTimeoutMs } : {}),
      ...(options.sendTimeoutMs !== undefined ? { sendTimeoutMs: options.sendTimeoutMs } : {}),
      calls,
      compute,
      isStopping: (p) => stopping.has(p),
      isBroken: (p) => broken.has(p),
      breakOff,
      kill: (p) => stop(p, 'SIGKILL'),
      refuse,
      send: options.send,
      ...(options.onJob ? { onJob: options.onJob } : {}),
      ...(options.readJob ? { readJob: options.readJob, settling } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      onReady(p, ms) {
        coldStartMs = ms;
        options.onColdStart?.(info(), ms);
        if (child === p) {
          childReady = true;
          // The memory setting changed while it started; events waiting for it are sent first.
          queueMicrotask(() => void retireStale());
        }
      },
      onAnswer: settle,
      onExit: exited,
    });
    startedFrom = from;
    childMemoryMb = Math.trunc(settings.memoryMb);
    childReady = false;
    child = proc;
    live.add(proc);
    coldStarts++;
    return whenReady;
  }

  /** What an exit of `proc` costs: its events fail (and are retried); a provisioned function starts another. */
  function exited(
    proc: ChildProcess,
    { code, signal, readyAt }: { code: number | null; signal: NodeJS.Signals | null; readyAt?: number },
  ): void {
    live.delete(proc);
    if (child === proc) {
      child = undefined;
      ready = undefined;
    }
    // Its events fail; the queue makes their messages visible again and another delivery retries them.
    failAll(`The function process ${options.name} exited (${signal ?? code}) while running the event.`, proc);
    // A warm process that ended is replaced at once; one that never got ready, or ended within
    // WARM_MIN_LIFE_MS of it (release code that exits or breaks the protocol right after `ready`), is
    // tried again after a growing wait: replaced at once, either was forked several times a second.
    // One the host replaced for a new memory setting was started again already (retireStale).
    if (readyAt === undefined || settings.provisionedConcurrency <= 0 || closed || retired.has(proc)) return;
    if (performance.now() - readyAt >= WARM_MIN_LIFE_MS) {
      warmRestarts.succeeded();
      setTimeout(keepWarm, 100).unref();
      return;
    }
    options.onError?.(
      new Error(
        `The provisioned function process ${options.name} ended ${Math.round(performance.now() - readyAt)} ms after it was ready; started again after a wait.`,
      ),
    );
    warmRestarts.failed();
  }

  /**
   * Keeps a provisioned function's process started: a failed start (one that ends before `ready` or within
   * WARM_MIN_LIFE_MS of it) is reported and tried again after 1 s, doubled for each failure in a row up to
   * 30 s; the host's refresh (every 0.5 s) does not start one sooner.
   */
  function keepWarm(): void {
    if (closed || settings.provisionedConcurrency <= 0) return;
    clearTimeout(idleTimer);
    if (child || warmRestarts.waiting()) return;
    const failed = (error: unknown) => {
      options.onError?.(error);
      warmRestarts.failed();
    };
    // A fork that starts no process (out of memory or processes) throws: here in a timer or a microtask,
    // where a throw ended the server. It is a failed start like any.
    try {
      ready = start();
    } catch (error) {
      failed(error);
      return;
    }
    ready.catch(failed);
  }

  /**
   * After the last event in flight finishes, the process waits `idleTimeoutSec`, then stops; a provisioned
   * one stays.
   */
  function settle(): void {
    wake();
    if (retireStale()) return;
    if (calls.size > 0 || !child || settings.provisionedConcurrency > 0) return;
    clearTimeout(idleTimer);
    const proc = child;
    idleTimer = setTimeout(() => {
      if (calls.size === 0 && child === proc) stop(proc);
    }, settings.idleTimeoutSec * 1000);
    idleTimer.unref();
  }

  /**
   * Ends the current process once no event of its runtime is in flight if it was forked with another memory
   * setting than the current one (`--max-old-space-size` is fixed at the fork): the next event, or at once a
   * provisioned function, starts one with the new setting. Before, a change waited for the idle stop, and a
   * provisioned process never had it. Returns whether it ended one.
   */
  function retireStale(): boolean {
    // A process still starting is looked at again once it is ready (stopped now, it failed its start).
    if (!child || !childReady || childMemoryMb === Math.trunc(settings.memoryMb) || calls.size > 0)
      return false;
    retired.add(child);
    stop(child);
    keepWarm();
    return true;
  }

  /**
   * Signals `proc` to end; a SIGTERM not obeyed within `graceMs` becomes a SIGKILL (release code can ignore
   * SIGTERM: an idle-stopped process then held the tenant's store and memory for good).
   */
  function stop(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = STOP_GRACE_MS): void {
    stopping.add(proc);
    if (child === proc) {
      child = undefined;
      ready = undefined;
    }
    stopProcess(proc, signal, graceMs, (why) =>
      options.onError?.(new Error(`The function process ${options.name}: ${why}.`)),
    );
  }

  /** One event: starts the process if it is cold (a cold start), then sends the event to it. */
  async function run(event: SQSEvent): Promise<SQSBatchResponse> {
    if (closed) throw new FunctionBusyError(options.name);
    clearTimeout(idleTimer);
    const tenant = await options.tenant();
    // Closed while the record was read (its lane closed: a demotion, an offboarding, the server's stop): a
    // process started now (a spare taken, a fork) ran the event after close(), which had ended the rest, and
    // stayed until its idle timeout.
    if (closed) throw new FunctionBusyError(options.name);
    if (!child) ready = start();
    const proc = child!;
    const id = nextId++;
    const response = new Promise<SQSBatchResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The handler cannot be interrupted inside the model: end the process, as Lambda ends a sandbox.
        options.onError?.(
          new Error(`${options.name}: event timed out after ${settings.timeoutSec}s; process stopped.`),
        );
        stop(proc, 'SIGKILL');
      }, settings.timeoutSec * 1000);
      calls.set(id, {
        kind: 'invoke',
        state: 'waiting',
        proc,
        jobs: jobsOf(event, options.tenantId),
        resolve,
        reject,
        timer,
      });
    });
    // A process that dies before it is ready rejects the call through failAll; never unhandled.
    response.catch(() => undefined);
    try {
      await ready;
    } catch (error) {
      const call = calls.get(id);
      if (call) {
        clearTimeout(call.timer);
        calls.delete(id);
      }
      settle();
      throw error;
    }
    const call = calls.get(id);
    if (!call) return response;
    call.state = 'sent';
    call.sentAt = performance.now();
    proc.send({ type: 'invoke', id, event, tenant } satisfies ChildRequest);
    return response;
  }

  queueMicrotask(keepWarm);
  return {
    name: options.name,
    info,
    carries: (jobId) => settling.has(jobId) || [...calls.values()].some((call) => call.jobs.has(jobId)),
    updateSettings(next) {
      const wasProvisioned = settings.provisionedConcurrency > 0;
      settings = next;
      wake();
      retireStale();
      // The host re-reads settings every refresh: only a change of provisioning starts or releases the process.
      if (next.provisionedConcurrency > 0) keepWarm();
      else if (wasProvisioned) settle();
    },
    acquire: (acquire) => reservations.acquire(acquire),
    whileWaiting: (giveBack) => reservations.whileWaiting(giveBack),
    invoke(event: SQSEvent) {
      if (reservations.free() === 0) return Promise.reject(new FunctionBusyError(options.name));
      return reservations.acquire({ max: 1 }).then((lease) => lease.invoke(event));
    },
    async close() {
      closed = true;
      reservations.close();
      clearTimeout(idleTimer);
      warmRestarts.stop();
      // Every process not exited: the current one and those stopped before (idle, settings) that may still
      // ignore their SIGTERM, whose 5 s kill is an unref'd timer the server's exit would never run.
      const ending = [...live].map((proc) => {
        const exited = hasEnded(proc)
          ? Promise.resolve()
          : new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        // The host waited for running events as long as it could: what still runs is cut short, and a
        // process that does not end on SIGTERM within 2 s is killed.
        const running = [...calls.values()].some((call) => call.proc === proc);
        stop(proc, running ? 'SIGKILL' : 'SIGTERM', CLOSE_GRACE_MS);
        return exited;
      });
      await Promise.all(ending);
      failAll(`The function ${options.name} was closed.`);
    },
  };
}

import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { JobRecord } from '../core/job.ts';
import type { ComputePool } from './compute-pool.ts';
import type {
  FunctionReport,
  FunctionRequest,
  FunctionRuntime,
  HandlerFactorySpec,
} from './function-runtime.ts';
import { moduleUrl, startModuleWorker } from './module-url.ts';
import {
  createSlotReservations,
  FunctionBusyError,
  FunctionTimeoutError,
  type InvokeOptions,
} from './slot-reservations.ts';

interface Slot {
  worker: Worker;
  /** Events this thread is running now; up to `perThread` at once. */
  inFlight: number;
  ready: Promise<void>;
  /** Aborted when the thread ends: the compute pool then drops and kills the parts it asked for. */
  computing: AbortController;
}

/**
 * The shared functions: a fixed pool of worker threads, one event at a time each, so model runs and
 * workbook rendering never block the API's event loop. A crashed thread is replaced and its event fails
 * (the messages become visible again and are retried). An event past its time limit has its thread ended
 * (a model run is CPU work that cannot be interrupted any other way) and replaced, and its parts in the
 * compute pool killed; it fails with `FunctionTimeoutError` once the thread is gone.
 */
export function createWorkerPool(options: {
  name: string;
  size: number;
  factory: HandlerFactorySpec;
  onJob?(job: JobRecord): void;
  onError?(error: unknown): void;
  /**
   * Events one thread runs at once. More than one keeps a thread busy while another event waits on
   * disk (the artifact write), instead of idling between a job's I/O steps.
   */
  perThread?: number;
  /** Runs parts of big model runs for the threads (the compute pool); absent: runs stay whole. */
  compute?: ComputePool;
}): FunctionRuntime {
  const slots: Slot[] = [];
  const perThread = options.perThread ?? 1;
  const pending = new Map<
    number,
    { resolve(r: SQSBatchResponse): void; reject(e: Error): void; slot: Slot; timer?: NodeJS.Timeout }
  >();
  let nextId = 1;
  let closed = false;
  const unused = () => slots.reduce((free, s) => free + Math.max(0, perThread - s.inFlight), 0);
  const reservations = createSlotReservations({
    name: options.name,
    unused,
    run: (event, invokeOptions) => run(event, invokeOptions),
  });
  const wake = () => reservations.changed();

  function spawn(): Slot {
    const worker = startModuleWorker(moduleUrl('./function-worker', import.meta.url), {
      workerData: { factory: options.factory, cores: options.compute ? availableParallelism() : 1 },
    });
    let markReady: () => void = () => undefined;
    let failStart: (error: Error) => void = () => undefined;
    const slot: Slot = {
      worker,
      inFlight: 0,
      computing: new AbortController(),
      ready: new Promise((resolve, reject) => {
        markReady = resolve;
        failStart = reject;
      }),
    };
    // An event waiting for a thread that died while starting fails (it counts as a delivery, as a Lambda
    // init error does) instead of waiting for ever.
    slot.ready.catch(() => undefined);
    worker.on('message', (report: FunctionReport) => {
      if (report.type === 'ready') markReady();
      else if (report.type === 'job') options.onJob?.(report.job);
      else if (report.type === 'compute') {
        const reply = (message: FunctionRequest) => worker.postMessage(message);
        if (!options.compute) reply({ type: 'computed', id: report.id, error: 'no compute pool' });
        else
          options.compute.runParts(report.model, report.input, report.parts, slot.computing.signal).then(
            (results) => reply({ type: 'computed', id: report.id, results }),
            (error: unknown) => reply({ type: 'computed', id: report.id, error: String(error) }),
          );
      } else {
        const call = pending.get(report.id);
        if (!call) return;
        pending.delete(report.id);
        clearTimeout(call.timer);
        slot.inFlight--;
        if (report.type === 'result') call.resolve(report.response);
        else call.reject(new Error(report.message));
        wake();
      }
    });
    worker.on('error', (error) => options.onError?.(error));
    worker.on('exit', () => {
      failStart(new Error('The function thread exited while starting.'));
      slot.computing.abort();
      for (const [id, call] of pending) {
        if (call.slot !== slot) continue;
        pending.delete(id);
        clearTimeout(call.timer);
        call.reject(new Error('The function thread exited while running the event.'));
      }
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      if (!closed) slots.push(spawn());
      wake();
    });
    return slot;
  }

  for (let i = 0; i < options.size; i++) slots.push(spawn());

  /**
   * Ends the thread of an event past its limit; the event fails once the thread is gone, so nothing of its
   * run can still write. The slot keeps counting as busy until then: its replacement is a new slot.
   */
  function timeOut(id: number, limitMs: number): void {
    const call = pending.get(id);
    if (!call) return;
    pending.delete(id);
    call.slot.computing.abort();
    call.slot.worker
      .terminate()
      .finally(() => call.reject(new FunctionTimeoutError(options.name, limitMs)))
      .catch(() => undefined);
  }

  /** Starts the event's time limit when it is known; one still being looked up counts from `startedAt`. */
  function limit(id: number, timeLimitMs: InvokeOptions['timeLimitMs'], startedAt: number): void {
    if (timeLimitMs === undefined) return;
    const arm = (ms: number | undefined) => {
      const call = pending.get(id);
      if (!call || ms === undefined || !Number.isFinite(ms)) return;
      call.timer = setTimeout(() => timeOut(id, ms), Math.max(0, startedAt + ms - Date.now()));
    };
    if (typeof timeLimitMs === 'number') arm(timeLimitMs);
    else timeLimitMs.then(arm, (error: unknown) => options.onError?.(error));
  }

  /** Takes a thread synchronously (before any await), so reservations and in-flight counts stay exact. */
  function run(event: SQSEvent, invokeOptions: InvokeOptions = {}): Promise<SQSBatchResponse> {
    // The least busy thread: model runs are CPU work, so spread them before stacking them.
    const slot = slots.reduce<Slot | undefined>(
      (best, s) => (s.inFlight < perThread && (!best || s.inFlight < best.inFlight) ? s : best),
      undefined,
    );
    if (!slot || closed) return Promise.reject(new FunctionBusyError(options.name));
    slot.inFlight++;
    return slot.ready.then(
      () =>
        new Promise<SQSBatchResponse>((resolve, reject) => {
          const id = nextId++;
          pending.set(id, { resolve, reject, slot });
          slot.worker.postMessage({ type: 'invoke', id, event } satisfies FunctionRequest);
          limit(id, invokeOptions.timeLimitMs, Date.now());
        }),
      (error: unknown) => {
        slot.inFlight--;
        wake();
        throw error;
      },
    );
  }

  return {
    name: options.name,
    acquire: (acquire) => reservations.acquire(acquire),
    whileWaiting: (giveBack) => reservations.whileWaiting(giveBack),
    invoke(event: SQSEvent, invokeOptions?: InvokeOptions) {
      if (reservations.free() === 0) return Promise.reject(new FunctionBusyError(options.name));
      return run(event, invokeOptions);
    },
    async close() {
      closed = true;
      reservations.close();
      for (const call of pending.values()) clearTimeout(call.timer);
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

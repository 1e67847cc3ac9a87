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
import { createSlotReservations, FunctionBusyError } from './slot-reservations.ts';

interface Slot {
  worker: Worker;
  /** Events this thread is running now; up to `perThread` at once. */
  inFlight: number;
  ready: Promise<void>;
}

/**
 * The shared functions: a fixed pool of worker threads, one event at a time each, so model runs and
 * workbook rendering never block the API's event loop. A crashed thread is replaced and its event fails
 * (the messages become visible again and are retried).
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
    { resolve(r: SQSBatchResponse): void; reject(e: Error): void; slot: Slot }
  >();
  let nextId = 1;
  let closed = false;
  const unused = () => slots.reduce((free, s) => free + Math.max(0, perThread - s.inFlight), 0);
  const reservations = createSlotReservations({ name: options.name, unused, run: (event) => run(event) });
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
          options.compute.runParts(report.model, report.input, report.parts).then(
            (results) => reply({ type: 'computed', id: report.id, results }),
            (error: unknown) => reply({ type: 'computed', id: report.id, error: String(error) }),
          );
      } else {
        const call = pending.get(report.id);
        if (!call) return;
        pending.delete(report.id);
        slot.inFlight--;
        if (report.type === 'result') call.resolve(report.response);
        else call.reject(new Error(report.message));
        wake();
      }
    });
    worker.on('error', (error) => options.onError?.(error));
    worker.on('exit', () => {
      failStart(new Error('The function thread exited while starting.'));
      for (const [id, call] of pending) {
        if (call.slot !== slot) continue;
        pending.delete(id);
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

  /** Takes a thread synchronously (before any await), so reservations and in-flight counts stay exact. */
  function run(event: SQSEvent): Promise<SQSBatchResponse> {
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
    invoke(event: SQSEvent) {
      if (reservations.free() === 0) return Promise.reject(new FunctionBusyError(options.name));
      return run(event);
    },
    async close() {
      closed = true;
      reservations.close();
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

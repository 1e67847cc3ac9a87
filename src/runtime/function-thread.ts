import { parentPort, workerData } from 'node:worker_threads';
import { partialBatchResponse } from '../functions/batch-response.ts';
import { createJobHandler } from '../functions/model-handler.ts';
import { flushTracing } from '../observability/tracing.ts';
import type { ReceivedMessage } from '../ports/message-queue.ts';
import { WARM_EVENT } from './code-cache.ts';
import {
  type FunctionReport,
  type FunctionRequest,
  type FunctionThreadDeps,
  type FunctionThreadSettings,
  SHARED_POOL_MEMORY_MB,
} from './function-runtime.ts';
import { createInProcessRuntime } from './in-process-runtime.ts';
import { type QueueConsumer, startQueueConsumer } from './queue-consumer.ts';
import { createReportBatcher, jobNotice } from './thread-reports.ts';
import { heartbeatIntervalMs } from './visibility-heartbeat.ts';

/** A function thread's factory: builds the handler's dependencies on the thread's own connections. */
export type CreateHandlerDeps = (options: Record<string, unknown>) => Promise<FunctionThreadDeps>;

/**
 * Runs one function thread of the shared pool. It owns its loop: it claims and deletes its messages on
 * its own connection and runs the same per-record handler Lambda runs. The host only hears what started
 * and finished: it keeps those messages invisible while they run, enforces time limits, recovers a crash.
 *
 * Started two ways (worker-pool.ts): from the prebuilt bundle of an entry that names its factory
 * (`src/entry/function-thread-embedded.ts`: no TypeScript compiled at run time, V8's code cache), or
 * through tsx on `function-worker.ts`, which imports the factory module the settings name.
 * Resolves once the thread has posted `ready`; throws what the factory throws (the host sees the
 * thread's `error`).
 */
export async function runFunctionThread(createHandlerDeps: CreateHandlerDeps): Promise<void> {
  const settings = workerData as FunctionThreadSettings;
  const port = parentPort!;
  // One job at a time: a job's claim, running status, final status and end go in one or two messages.
  const reports = createReportBatcher((batch) => port.postMessage(batch), {
    batched: settings.perThread === 1,
  });
  /** `now`: the host needs it before this thread may block in a synchronous model run (see thread-reports.ts). */
  const post = (report: FunctionReport, now = true) => reports.add(report, now);

  const deps = await createHandlerDeps(settings.factory.options);

  // Big runs are split by the model and their parts run in the host's compute pool.
  let nextCompute = 1;
  const computing = new Map<number, { resolve(results: unknown[]): void; reject(error: Error): void }>();
  const runParts = (model: string, input: unknown, parts: unknown[], signal?: AbortSignal) =>
    new Promise<unknown[]>((resolve, reject) => {
      const id = nextCompute++;
      const onAbort = () => {
        computing.delete(id);
        post({ type: 'cancel-compute', id });
        reject(signal?.reason instanceof Error ? signal.reason : new Error('The run was stopped.'));
      };
      computing.set(id, {
        resolve: (results) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(results);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      post({ type: 'compute', id, model, input, parts });
    });

  const handle = createJobHandler({
    // A pooled thread runs at the shared pool's memory, whatever lane its message came from.
    memoryMb: () => SHARED_POOL_MEMORY_MB,
    ...deps,
    // The running status (and progress) comes just before a synchronous run: posted at once, with the claim.
    notify: (job) => post({ type: 'job', job: jobNotice(job) }, job.status === 'running'),
    ...(settings.cores > 1 ? { parallel: { cores: settings.cores, runParts } } : {}),
  });
  const runtime = createInProcessRuntime({
    name: 'shared',
    slots: settings.perThread,
    run: (event) => partialBatchResponse(event, handle),
  });

  /** The host logs what goes wrong here (a failed delete, a claim that threw) with the server's logger. */
  const reportError = (error: unknown) =>
    post({ type: 'error', message: String((error as Error)?.stack ?? error) });

  // The host extends what runs here; before a message is settled it is told to stop (see `settling`). A run
  // shorter than half a heartbeat interval cannot have an extension in flight (the first is sent an interval
  // after the start), so only a longer one waits for the host's answer.
  const beatMs = heartbeatIntervalMs(settings.visibilityTimeoutSec);
  const startedAt = new Map<string, number>();
  let nextRelease = 1;
  const releasing = new Map<number, () => void>();
  const beforeSettle = (batch: ReceivedMessage[]): Promise<void> | undefined => {
    const waits: Promise<void>[] = [];
    for (const { receiptHandle } of batch) {
      const since = startedAt.get(receiptHandle) ?? 0;
      startedAt.delete(receiptHandle);
      if (Date.now() - since < beatMs / 2) post({ type: 'settling', receiptHandle }, false);
      else {
        const id = nextRelease++;
        waits.push(new Promise<void>((resolve) => releasing.set(id, resolve)));
        post({ type: 'settling', receiptHandle, ack: id });
      }
    }
    return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
  };

  // Changed in place: a long poll already under way reads the set it was given when messages arrive.
  const blocked = new Set<string>();
  const consumers = new Map<string, QueueConsumer>();
  let warm = false;
  function consume(queue: string, limited: boolean): void {
    consumers.set(
      queue,
      startQueueConsumer({
        queue,
        runtime,
        messages: deps.queue,
        visibilityTimeoutSec: settings.visibilityTimeoutSec,
        batchSize: settings.batchSize,
        // The host extends what this thread holds: a synchronous model run would stall a timer here.
        heartbeat: false,
        beforeSettle,
        ...(limited && settings.runningLimit ? { runningLimit: settings.runningLimit } : {}),
        // Queues that cannot count running jobs in the claim get the host's view of who is at the limit.
        ...(limited && !settings.runningLimit ? { blockedGroups: () => blocked } : {}),
        // Both wait for the turn's end: a job's running status takes its claim along before the run starts.
        onStart: (m, batchIndex) => {
          startedAt.set(m.receiptHandle, Date.now());
          post(
            {
              type: 'started',
              message: {
                queue,
                receiptHandle: m.receiptHandle,
                body: m.body,
                receiveCount: m.receiveCount,
                ...(m.groupId !== undefined ? { groupId: m.groupId } : {}),
                ...(batchIndex > 0 ? { batchIndex } : {}),
              },
            },
            false,
          );
        },
        onFinish: (m) => {
          post({ type: 'finished', queue, receiptHandle: m.receiptHandle }, false);
          // Started from the prebuilt bundle: its code cache is written now, with what this job compiled.
          if (!warm) {
            warm = true;
            (process as NodeJS.EventEmitter).emit(WARM_EVENT);
          }
        },
        onError: reportError,
      }),
    );
  }
  for (const queue of settings.queues) consume(queue, true);
  for (const queue of settings.extraQueues) consume(queue, false);

  let stopping: Promise<void> | undefined;
  port.on('message', (request: FunctionRequest) => {
    if (request.type === 'ping') post({ type: 'alive' });
    else if (request.type === 'computed') {
      const call = computing.get(request.id);
      computing.delete(request.id);
      if (request.results) call?.resolve(request.results);
      else call?.reject(new Error(request.error ?? 'compute failed'));
    } else if (request.type === 'released') {
      releasing.get(request.id)?.();
      releasing.delete(request.id);
    } else if (request.type === 'blocked') {
      blocked.clear();
      for (const group of request.groups) blocked.add(group);
    } else if (request.type === 'queues') {
      if (stopping) return;
      const wanted = new Set(request.names);
      for (const name of wanted) if (!consumers.has(name)) consume(name, false);
      for (const [name, consumer] of consumers) {
        if (wanted.has(name) || settings.queues.includes(name)) continue;
        consumers.delete(name);
        consumer.stop().catch(reportError);
      }
    } else if (request.type === 'stop') {
      // Receives no more; what runs finishes (deleted or retried by its consumer), then the host is told.
      stopping ??= Promise.all([...consumers.values()].map((c) => c.stop())).then(async () => {
        await runtime.close();
        await flushTracing();
        post({ type: 'stopped' });
      });
    }
  });
  post({ type: 'ready' });
}

import { join } from 'node:path';
import { ReleasePointerError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
import { laneForPlacement } from '../core/placement.ts';
import { BUILTIN_RELEASE, releaseOf } from '../core/release.ts';
import { DEFAULT_FUNCTION_SETTINGS, functionSettingsFor, type Tenant } from '../core/tenant.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import { announcementFromChild } from './child-reports.ts';
import { untilDeadline } from './deadline.ts';
import { createProcessRuntime, type FunctionInfo, type ProcessRuntime } from './process-runtime.ts';
import { type QueueConsumer, startQueueConsumer } from './queue-consumer.ts';
import { refreshAfterChange } from './refresh-after.ts';
import { createSpareProcesses } from './spare-processes.ts';

export interface DedicatedHostOptions {
  queue: MessageQueue;
  directory: TenantDirectory;
  dataDir: string;
  models: string[];
  visibilityTimeoutSec: number;
  maxReceiveCount?: number;
  /** How often the tenant directory is re-read for dedicated lanes that appeared or went away. */
  refreshMs?: number;
  /** How long one sync may take, ms; default REFRESH_TIMEOUT_MS (refresh-after.ts). */
  refreshTimeoutMs?: number;
  /** Releases: each lane's process runs its tenant's release; a new release replaces the process. */
  releases?: { catalog: Pick<ReleaseCatalog, 'current'>; dir: string };
  /**
   * Spare function processes kept loaded while at least one dedicated lane has the default memory setting
   * (spares are forked with it): a cold start takes one (bound to its tenant then) instead of forking
   * (spare-processes.ts). Each costs one idle Node process's memory
   * (≈ 23 MB of its own, docs/benchmarks.md "Session 22"). Default 0 (the server's setting,
   * SILOPOOL_SPARE_FUNCTION_PROCESSES, defaults to 1).
   */
  spareProcesses?: number;
  onJob?(job: JobRecord): void;
  /** A job record of a dedicated tenant as its own store holds it: the server's read (process-runtime.ts). */
  readJob?(tenantId: TenantId, jobId: string): Promise<JobRecord | undefined>;
  onColdStart?(info: FunctionInfo, ms: number): void;
  onError?(error: unknown): void;
}

export interface DedicatedHost {
  functions(): FunctionInfo[];
  /**
   * Whether an event carrying the job waits for or runs in a function process of the tenant (a lane's, or one
   * a new release replaced that still finishes its events): the host meters that job's finish itself.
   */
  carries(tenantId: string, jobId: string): boolean;
  /** Spare function processes forked and not taken now: loaded, and still loading. */
  spares(): { loaded: number; loading: number };
  /** Re-reads the directory now (after a create or a move step) instead of at the next tick. */
  refresh(): Promise<void>;
  /** Lets running events finish until `deadline` (epoch ms; default: now), then ends the function processes. */
  stop(deadline?: number): Promise<void>;
}

interface Lane {
  tenantId: string;
  runtime: ProcessRuntime;
  consumer: QueueConsumer;
  release: string;
}

/** Tenants whose dedicated lanes need a consumer: dedicated ones, and those being moved to dedicated. */
export function hasDedicatedLanes(tenant: Tenant): boolean {
  return (
    tenant.status !== 'offboarding' && (tenant.placement === 'dedicated' || tenant.move?.to === 'dedicated')
  );
}

/**
 * Runs the dedicated lanes: per dedicated (tenant, model) a queue consumer (the event source mapping) in
 * this process and a function that is a child process of its own, started on demand (see process-runtime).
 */
export function startDedicatedHost(options: DedicatedHostOptions): DedicatedHost {
  const lanes = new Map<string, Lane>();
  let stopped = false;
  const spares = createSpareProcesses({
    memoryMb: DEFAULT_FUNCTION_SETTINGS.memoryMb,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  /** Lanes replaced by a new release, finishing their events in flight. */
  const retiring = new Map<Lane, Promise<void>>();

  function open(tenant: Tenant, model: string, release: string): Lane {
    const lane = laneForPlacement(tenant.id, 'dedicated', model);
    const runtime = createProcessRuntime({
      name: lane.functionName,
      tenantId: tenant.id,
      model,
      settings: functionSettingsFor(tenant),
      child: {
        tenantId: tenant.id,
        storeDir: join(options.dataDir, 'tenants', tenant.id),
        ...(options.releases ? { release, releasesDir: options.releases.dir } : {}),
        ...(options.maxReceiveCount !== undefined ? { maxReceiveCount: options.maxReceiveCount } : {}),
      },
      // Fresh per event, so the function sees config changes and a move's routing at once.
      tenant: () => options.directory.get(tenant.id),
      // Refusals (ForbiddenError) are logged by the runtime.
      send: async (queue, message, running) => {
        await options.queue.send(queue, announcementFromChild(tenant.id, queue, message, running));
      },
      // The runtime relays only its own tenant's job of an event in flight: its model code (a release, a
      // tenant's variant) could post a status for any job.
      ...(options.onJob ? { onJob: options.onJob } : {}),
      ...(options.readJob ? { readJob: (jobId: string) => options.readJob!(tenant.id, jobId) } : {}),
      ...(options.onColdStart ? { onColdStart: options.onColdStart } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
      spares,
    });
    const consumer = startQueueConsumer({
      queue: lane.queue,
      runtime,
      messages: options.queue,
      visibilityTimeoutSec: options.visibilityTimeoutSec,
      batchSize: 1,
      ...(options.onError ? { onError: options.onError } : {}),
    });
    return { tenantId: tenant.id, runtime, consumer, release };
  }

  async function close(key: string, lane: Lane, deadline = Date.now()): Promise<void> {
    if (lanes.get(key) === lane) lanes.delete(key);
    // Stop receiving first, let running events finish until the deadline, then end the process: that
    // fails what still runs (its messages go back to the queue) and wakes a consumer waiting for a slot.
    const stopping = lane.consumer.stop();
    await untilDeadline(stopping, deadline);
    await lane.runtime.close();
    await stopping;
  }

  /** The damaged pointer last reported: one log line per damage, not one per sync. */
  let reportedPointerError: string | undefined;

  /** Abandoned at its deadline (refresh-after.ts), a sync opens or closes no lane: each step follows a check. */
  async function sync(signal: AbortSignal): Promise<void> {
    const wanted = new Map<string, { tenant: Tenant; model: string }>();
    let cursor: string | undefined;
    do {
      const page = await options.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
      signal.throwIfAborted();
      for (const tenant of page.items) {
        if (!hasDedicatedLanes(tenant)) continue;
        for (const model of options.models) wanted.set(`${tenant.id}/${model}`, { tenant, model });
      }
      cursor = page.nextCursor;
    } while (cursor);
    if (stopped) return;
    // A damaged pointer (ReleasePointerError) names no code for the tenants that follow it: their lanes stay
    // as they are (none is opened; their messages wait) until it is repaired. It failed the whole sync, every
    // half second: no tenant on a release of its own got its lanes either, and the upgrade that repairs the
    // pointer (its waves wait for this sync) never ended.
    const current = options.releases
      ? await options.releases.catalog.current().catch((error: unknown) => {
          if (!(error instanceof ReleasePointerError)) throw error;
          if (error.message !== reportedPointerError) options.onError?.(error);
          reportedPointerError = error.message;
          return undefined;
        })
      : BUILTIN_RELEASE;
    signal.throwIfAborted();
    if (current !== undefined) reportedPointerError = undefined;
    for (const [key, { tenant, model }] of wanted) {
      const lane = lanes.get(key);
      const ownRelease = tenant.placement === 'dedicated' ? tenant.release : undefined;
      if (current === undefined && !ownRelease) continue;
      const release = releaseOf(tenant, current ?? BUILTIN_RELEASE);
      if (lane && lane.release !== release) {
        // A new release: a new process takes the lane's messages now; the old one stops receiving and
        // finishes its events in flight (until the function timeout) before it ends. Each message is
        // claimed by one of them, and a job's status changes are compare-and-set: none runs twice.
        lanes.set(key, open(tenant, model, release));
        const drainMs = functionSettingsFor(tenant).timeoutSec * 1000;
        const closing = close(key, lane, Date.now() + drainMs)
          .catch(options.onError)
          .finally(() => retiring.delete(lane));
        retiring.set(lane, closing);
      } else if (lane) lane.runtime.updateSettings(functionSettingsFor(tenant));
      else lanes.set(key, open(tenant, model, release));
    }
    await Promise.all([...lanes].filter(([key]) => !wanted.has(key)).map(([key, lane]) => close(key, lane)));
    // Spares are of the default memory setting: for lanes of other settings (each forks its own) they would
    // wait for nothing, an idle process each.
    const takers = [...lanes.values()].some(
      (lane) => lane.runtime.info().settings.memoryMb === DEFAULT_FUNCTION_SETTINGS.memoryMb,
    );
    if (!stopped) spares.keep(takers ? (options.spareProcesses ?? 0) : 0);
  }

  // A refresh asked for after a change (a release pin, a move step) never returns the sync under way: that
  // one may have read the directory before the change, and the caller would go on with the old lanes.
  const syncs = refreshAfterChange(sync, {
    what: "The dedicated host's sync of lanes",
    ...(options.refreshTimeoutMs !== undefined ? { timeoutMs: options.refreshTimeoutMs } : {}),
    ...(options.onError ? { onLate: options.onError } : {}),
  });
  const refresh = syncs.refresh;
  const timer = setInterval(() => refresh().catch(options.onError), options.refreshMs ?? 500);
  refresh().catch(options.onError);

  return {
    functions: () => [...lanes.values()].map((l) => l.runtime.info()),
    carries: (tenantId, jobId) =>
      [...lanes.values(), ...retiring.keys()].some(
        (lane) => lane.tenantId === tenantId && lane.runtime.carries(jobId),
      ),
    spares: () => spares.size(),
    refresh,
    async stop(deadline) {
      stopped = true;
      clearInterval(timer);
      await syncs.idle();
      await spares.close();
      await Promise.all([...lanes].map(([key, lane]) => close(key, lane, deadline)));
      // Replaced lanes drain no longer than the rest: at the deadline what still runs is cut short.
      await untilDeadline(Promise.all(retiring.values()), deadline ?? Date.now());
      await Promise.all([...retiring.keys()].map((lane) => lane.runtime.close()));
    },
  };
}

import type { FastifyInstance } from 'fastify';
import { createSqliteMessageQueue } from '../adapters/embedded/message-queue.ts';
import {
  createEmbeddedTenantEraser,
  createSqliteOperationStore,
} from '../adapters/embedded/operation-store.ts';
import { placementRoutes } from '../api/routes/placement.ts';
import { createMoveRunner } from '../control/placement-move.ts';
import { createRolloutRunner } from '../control/release-rollout.ts';
import type { JobId } from '../core/ids.ts';
import type { RegionPolicy } from '../core/region.ts';
import { listModels } from '../models/registry.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import type { ReleaseAlarms } from '../ports/release-alarms.ts';
import { tenantDataAt } from '../ports/stores.ts';
import { startDedicatedHost } from '../runtime/dedicated-host.ts';
import type { JobEvents } from '../runtime/job-events.ts';
import type { AwsControl } from './aws-control.ts';
import { meterReportedJob } from './billing-wiring.ts';
import type { ServerConfig } from './config.ts';
import { type EmbeddedPlatform, releasesDirOf } from './embedded-wiring.ts';
import { moveDataInWorker } from './move-data-worker.ts';
import { moveDriverOf } from './move-driver.ts';

// The placement starters of startPlatform (platform.ts): dedicated lanes, placement moves and release
// rollouts, on the embedded default and on the AWS adapters.

/** Dedicated lanes as local processes, and placement moves: the embedded default's hybrid. */
export function startEmbeddedPlacement(
  config: ServerConfig,
  platform: EmbeddedPlatform,
  app: FastifyInstance,
  events: JobEvents,
  release: { catalog: ReleaseCatalog; regions: RegionPolicy; alarms?: ReleaseAlarms },
) {
  // Dedicated lanes: a consumer per (tenant, model) here, the function in a child process of its own.
  const meterDedicated = meterReportedJob(platform.usage, (error) =>
    app.log.error({ err: error }, 'metering a dedicated job'),
  );
  const dedicated = startDedicatedHost({
    queue: createSqliteMessageQueue(platform.db, { pollIntervalMs: 500 }),
    directory: platform.directory,
    dataDir: config.dataDir,
    models: listModels().map((m) => m.name),
    visibilityTimeoutSec: config.visibilityTimeoutSec,
    maxReceiveCount: config.maxReceiveCount,
    spareProcesses: config.spareFunctionProcesses,
    releases: { catalog: release.catalog, dir: releasesDirOf(config.dataDir) },
    onJob: (job) => {
      // Usage first, then the event: an SSE client or a metrics reader that heard of the finish reads it.
      meterDedicated(job);
      events.publish(job);
    },
    readJob: (tenantId, jobId) =>
      tenantDataAt(platform.stores, { kind: 'dedicated', tenantId }, tenantId).jobs.get(jobId as JobId),
    onColdStart: (fn, ms) =>
      app.log.info(
        { function: fn.name, pid: fn.pid, coldStartMs: ms, startedFrom: fn.startedFrom },
        'function cold start',
      ),
    onError: (error) => app.log.error({ err: error }, 'dedicated host error'),
  });
  const operations = createSqliteOperationStore(platform.db);
  const placementDeps = {
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    operations,
    usage: platform.usage,
    billing: platform.billing,
    eraser: createEmbeddedTenantEraser(platform.db, config.dataDir, platform.jobsDb),
    onRoutingChange: () => dedicated.refresh(),
    // It holds the data directory's lock: an operation's lease another process left is stale.
    soleDriver: true,
  };
  const moves = createMoveRunner({
    ...placementDeps,
    dataSteps: moveDataInWorker(config.dataDir),
    regions: release.regions,
    log: (level, message, fields) => app.log[level](fields, message),
  });
  const rollouts = createRolloutRunner({
    ...placementDeps,
    catalog: release.catalog,
    ...(release.alarms ? { alarms: release.alarms } : {}),
    onReleaseChange: () => dedicated.refresh(),
    log: (level, message, fields) => app.log[level](fields, message),
  });
  placementRoutes(app, {
    moves,
    operations,
    exports: platform.stores.objects({ kind: 'shared' }),
    functions: () => dedicated.functions(),
    spares: () => dedicated.spares(),
  });
  return { moves, rollouts, dedicated, operations };
}

/**
 * Placement moves on the AWS adapters: the same move runner and steps as locally, operations in the
 * control-plane table, dedicated resources as stacks (`SILOPOOL_PROVISIONING=stack`) or made here
 * (emulators). Dedicated lanes are consumed by the pooled functions here (their stack's Lambdas on AWS).
 */
export function startAwsPlacement(
  control: AwsControl,
  app: FastifyInstance,
  release: { catalog: ReleaseCatalog; regions: RegionPolicy },
) {
  const moves = createMoveRunner({
    ...control.deps,
    regions: release.regions,
    drive: moveDriverOf(process.env, 'here'),
    log: (level, message, fields) => app.log[level](fields, message),
  });
  placementRoutes(app, {
    moves,
    operations: control.deps.operations,
    exports: control.deps.stores.objects({ kind: 'shared' }),
    functions: () => [],
  });
  const rollouts = createRolloutRunner({
    ...control.deps,
    catalog: release.catalog,
    ...(control.alarms ? { alarms: control.alarms } : {}),
    log: (level, message, fields) => app.log[level](fields, message),
  });
  return {
    moves,
    rollouts,
    dedicated: {
      functions: () => [],
      carries: (_tenantId: string, _jobId: string) => false,
      refresh: async () => undefined,
      stop: async (_deadline?: number) => undefined,
    },
    operations: control.deps.operations,
  };
}

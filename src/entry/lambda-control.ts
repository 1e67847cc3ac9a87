import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { repairTenantViews } from '../adapters/aws/tenant-views.ts';
import { advisorFor, applyAutoPlacement, respectOperatorMsFrom } from '../control/advisor.ts';
import { type SweepReport, sweepDeadLetterQueues } from '../control/dead-letter-sweep.ts';
import { meterPass } from '../control/meter.ts';
import { createMoveRunner } from '../control/placement-move.ts';
import { createRolloutRunner } from '../control/release-rollout.ts';
import { intSettingOf } from '../core/settings.ts';
import { createAwsControl } from './aws-control.ts';
import { createAwsPorts } from './aws-wiring.ts';
import { announcesToUsers } from './notification-flag.ts';

const logger = new Logger({ serviceName: 'silopool-control' });

/** Stop this long before Lambda's deadline: a step in flight finishes its write, the rest resumes next run. */
const MARGIN_MS = 60_000;
/** How often a run looks for operations the API recorded since it started. */
const LOOK_AGAIN_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Read at start, as every function reads its settings: read in each run, a malformed one failed every run
// before it drove anything, so a typo in an advisor setting stopped every placement move and upgrade.
/** `SILOPOOL_ADVISOR_EVERY_MIN`, whole minutes from 1 to a day (default 15); text read as NaN made the advisor never due. */
const ADVISOR_EVERY_MIN = intSettingOf(process.env, 'SILOPOOL_ADVISOR_EVERY_MIN', 15, { min: 1, max: 1440 });
const RESPECT_OPERATOR_MS = respectOperatorMsFrom(process.env);

// Built once per execution environment.
const ports = createAwsPorts();
const control = createAwsControl(ports);

/**
 * The control plane's long-running work on AWS: placement moves (a tenant stack takes minutes to create)
 * and release upgrades.
 * EventBridge invokes it every minute; reserved concurrency 1 makes it the only mover. Each run resumes
 * every running operation and drives them until they finish or the run's time is nearly up. Every step
 * is idempotent and persisted before it acts, so stopping at any point and resuming next run is exact.
 */
export async function handler(_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>) {
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS);
  const runner = createMoveRunner({
    ...control.deps,
    drive: 'here',
    log: (level, message, fields) => logger[level](message, fields),
  });
  // Upgrades started through the API (which only records them) are driven here too, wave by wave; a wave's
  // watch outlasts a run, and each step is persisted, so the next run resumes it.
  const rollouts = createRolloutRunner({
    ...control.deps,
    catalog: control.releases,
    ...(control.alarms ? { alarms: control.alarms } : {}),
    drive: 'here',
    log: (level, message, fields) => logger[level](message, fields),
  });
  let driven = 0;
  let advised = 0;
  try {
    if (advisorDue(new Date())) {
      // Tenants whose placement policy is `auto` are moved as the advisor says; the moves run below.
      const applied = await applyAutoPlacement({
        advisor: {
          ...advisorFor(
            { directory: ports.directory, stores: ports.stores, queue: ports.queue },
            { operations: ports.operations, respectOperatorMs: RESPECT_OPERATOR_MS },
          ),
          // Tenants whose contract names another Region are never advised shared, nor dedicated where the
          // platform cannot deploy.
          regions: control.regions,
        },
        move: (tenant, to) => runner.start(tenant.id, to),
        lastMoveAt: async (tenant) => {
          const moves = (await ports.operations.listByTenant(tenant.id)).filter((op) => op.kind === 'move');
          return moves.length > 0 ? Math.max(...moves.map((op) => Date.parse(op.createdAt))) : undefined;
        },
        onError: (tenantId, error) =>
          logger.error('auto placement of a tenant failed', { tenantId, error: String(error) }),
      }).catch((error: unknown) => {
        logger.error('auto placement failed', { error: String(error) });
        return [];
      });
      advised = applied.length;
      for (const r of applied) logger.info('auto placement', { ...r });
      // Views a stopped write left behind their records (tenant-views.ts), on the advisor's cadence: it
      // reads every tenant too.
      const repaired = await repairTenantViews(ports.directory, ports.views).catch((error: unknown) => {
        logger.error('tenant view repair failed', { error: String(error) });
        return 0;
      });
      if (repaired > 0) logger.warn('tenant views repaired', { repaired });
      // The metering pass (docs/billing.md) on the same cadence: finished jobs a crash left unmetered,
      // today's storage, and the lane hours since the previous pass (at most a day back).
      if (ports.usage) {
        const now = Date.now();
        const every = ADVISOR_EVERY_MIN * 60_000;
        const added = await meterPass(
          { directory: ports.directory, stores: ports.stores, usage: ports.usage },
          { now, lastPassMs: now - every },
        ).catch((error: unknown) => {
          logger.error('metering pass failed', { error: String(error) });
          return 0;
        });
        if (added > 0) logger.info('metering pass', { added });
      }
    }
    for (;;) {
      const running = (await runner.resume()) + (await rollouts.resume());
      driven = Math.max(driven, running);
      const left = deadline - Date.now();
      if (running === 0 || left <= 0) break;
      const started = Date.now();
      await Promise.race([runner.idle(), sleep(Math.min(LOOK_AGAIN_MS, left))]);
      // An operation whose run ends at once (and stays running) is not retried in a tight loop.
      if (Date.now() - started < 1000) await sleep(1000);
    }
  } finally {
    await Promise.all([runner.stop(), rollouts.stop()]);
  }
  return { operations: driven, autoMoves: advised };
}

const metrics = new Metrics({ namespace: 'Silopool', serviceName: 'silopool-dead-letters' });

/**
 * Every dead letter settles its job, on AWS: a function of its own (this bundle, handler
 * `index.sweepDeadLetters`) that EventBridge runs every minute. It reads the model lanes' dead-letter
 * queues, marks each message's job `failed` (`dead_lettered`) and leaves the messages there for
 * inspection and redrive (see sweepDeadLetterQueues).
 */
export async function sweepDeadLetters(): Promise<SweepReport> {
  const report = await sweepDeadLetterQueues(
    {
      directory: ports.directory,
      stores: ports.stores,
      queue: ports.queue,
      dataFor: ports.dataFor,
      // A dead-lettered job is announced to its users as the model function would have (the CDK app sets it).
      notifications: announcesToUsers(process.env),
    },
    {
      onSettled: (tenantId, outcome) => {
        if (outcome !== 'settled') return;
        const metric = metrics.singleMetric();
        metric.addDimension('TenantId', tenantId);
        metric.addMetric('DeadLettersSettled', MetricUnit.Count, 1);
      },
      onError: (error) =>
        logger.error('settling a dead letter failed; the next run retries', { error: String(error) }),
    },
  );
  logger.info('dead-letter sweep', { ...report });
  return report;
}

/** The advisor runs every `SILOPOOL_ADVISOR_EVERY_MIN` minutes (default 15): it reads every tenant's usage. */
function advisorDue(now: Date): boolean {
  return Math.floor(now.getTime() / 60_000) % ADVISOR_EVERY_MIN === 0;
}

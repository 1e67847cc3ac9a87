import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { secureDataDir } from '../adapters/embedded/data-dir.ts';
import { createSqliteMetricsHistory } from '../adapters/embedded/metrics-history.ts';
import { removeStaleTempFiles } from '../adapters/embedded/object-store.ts';
import { buildApp } from '../api/app.ts';
import { createAuthenticator } from '../api/auth/authenticator.ts';
import { loadEmbeddedIssuer } from '../api/auth/issuer.ts';
import { advisorRoutes } from '../api/routes/advisor.ts';
import { releaseRoutes } from '../api/routes/releases.ts';
import { advisorFor, respectOperatorMsFrom, startAutoPlacement } from '../control/advisor.ts';
import { diskSpaceOf } from '../control/disk-space.ts';
import { createControlHooks } from '../control/hooks.ts';
import { ensureQueue, WEBHOOK_QUEUE } from '../control/lanes.ts';
import { createTenantMetrics } from '../control/metrics.ts';
import { bufferedHistory } from '../control/metrics-history.ts';
import { createHistoryReleaseAlarms } from '../control/release-alarms.ts';
import { reportInvalidSettings } from '../control/tenant-config.ts';
import { settleTimedOut } from '../control/timed-out-jobs.ts';
import { createWebhookHealth } from '../control/webhook-health.ts';
import { sharedQueueName } from '../core/placement.ts';
import { regionPolicyFromEnv } from '../core/region.ts';
import type { Placement, Tenant } from '../core/tenant.ts';
import { NOTIFICATION_QUEUE } from '../functions/notification-message.ts';
import { createWebhookEndpoints, webhookEndpointKey } from '../functions/webhook-endpoints.ts';
import { listModels } from '../models/registry.ts';
import { openReleaseCatalog } from '../models/release-catalog.ts';
import { warmInputValidation } from '../models/rules.ts';
import { localJobSpans, startLocalTracing } from '../observability/local-tracing.ts';
import { startTracing } from '../observability/tracing.ts';
import type { ControlHooks } from '../ports/control-hooks.ts';
import { type FunctionHost, startFunctionHost } from '../runtime/function-host.ts';
import { createJobEvents, type JobEvents } from '../runtime/job-events.ts';
import { moduleUrl } from '../runtime/module-url.ts';
import { startNotificationDispatcher } from '../runtime/notification-dispatcher.ts';
import { PREBUILT_ENTRIES, type PrebuiltEntry, prebuiltEntry } from '../runtime/prebuilt.ts';
import type { AwsControl } from './aws-control.ts';
import type { AwsPorts } from './aws-wiring.ts';
import { billingDepsFor, startBilling } from './billing-wiring.ts';
import type { ServerConfig } from './config.ts';
import { openEmbeddedPlatform, openEmbeddedReleaseCatalog, releasesDirOf } from './embedded-wiring.ts';
import { startJobRecovery } from './job-recovery.ts';
import { isAddressInUse, PortInUseError } from './listen-port.ts';
import { startEmbeddedMetricsHistory } from './metrics-history.ts';
import { announcesToUsers } from './notification-flag.ts';
import { notificationsFromEnv, openNotifications } from './notifications.ts';
import { startAwsPlacement, startEmbeddedPlacement } from './placement-wiring.ts';

/** The built web app (`npm run build:web`, run by `npm install`) the server serves. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

export interface RunningPlatform {
  app: FastifyInstance;
  /** Where users reach it: PUBLIC_URL, else `localUrl`. */
  url: string;
  /** The address it listens on, as an IP address (the CLI's way in: `DATA_DIR/server-url`). */
  localUrl: string;
  operatorToken: string;
  /** A fresh operator token (`SILOPOOL_OPERATOR_TOKEN_LIFETIME`): the login token is renewed before it expires. */
  mintOperatorToken(): Promise<string>;
  host: FunctionHost;
  events: JobEvents;
  /**
   * Stops taking requests and messages, lets running jobs finish for up to `drainMs` (default: none), hands
   * the messages of those still running back to their queues, and closes the stores.
   */
  stop(drainMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Called right before the API listens: frees the port held since startup (see listen-port). */
  beforeListen?(): Promise<void>;
}

/**
 * Everything in one process: API, control plane, function host, web app. On the embedded default the
 * ports are SQLite and files; with `SILOPOOL_BACKEND=aws` they are SQS, DynamoDB and S3 (endpoints
 * overridable), and dedicated lanes run on AWS (TenantStack) rather than as local processes.
 */
export async function startPlatform(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<RunningPlatform> {
  // DATA_DIR holds the signing key and, embedded, every tenant's data and webhook secrets.
  await secureDataDir(config.dataDir);
  // Temp files of writes a SIGKILL cut short hold disk space and nothing else: cleared at each start.
  if (config.backend !== 'aws') await removeStaleTempFiles(config.dataDir);
  const embedded = config.backend === 'aws' ? undefined : openEmbeddedPlatform(config.dataDir);
  // Dedicated tenants' databases are migrated now, before anything serves or runs: migrated on first use, one
  // that rewrites every row held the event loop every tenant's requests share for as long as its copy took.
  const migrated = embedded?.migrateDedicatedStores() ?? [];
  // Embedded, spans are also kept in DATA_DIR/traces.sqlite; either way OTLP when configured.
  const tracing = embedded
    ? startLocalTracing('silopool-api', config.dataDir, { context: 'explicit' })
    : startTracing({ service: 'silopool-api', context: 'explicit' });
  // On the AWS backend the API, the upgrade's stack deployments and the function threads read one release
  // folder, the one the embedded backend reads (`releasesDirOf`): else the threads run built-in models only.
  const awsEnv = embedded
    ? undefined
    : { ...process.env, SILOPOOL_RELEASES_DIR: releasesDirOf(config.dataDir) };
  // Loaded only when chosen: the embedded default never needs the AWS SDK to start.
  const platform = embedded ?? (await import('./aws-wiring.ts')).createAwsPorts(awsEnv);
  const queueOptions = {
    visibilityTimeoutSec: config.visibilityTimeoutSec,
    maxReceiveCount: config.maxReceiveCount,
  };
  const awsControl = embedded
    ? undefined
    : (await import('./aws-control.ts')).createAwsControl(platform as AwsPorts, awsEnv, queueOptions);
  for (const model of listModels())
    await ensureQueue(platform.queue, sharedQueueName(model.name), queueOptions);
  await ensureQueue(platform.queue, WEBHOOK_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
  // Email and Web Push to users. On the AWS backend with SILOPOOL_NOTIFICATIONS=on the function threads
  // announce (aws-wiring.ts) and this server delivers with the channels its environment sets, as the
  // notification Lambda does.
  const announcing = !embedded && announcesToUsers(process.env);
  const notifications = embedded
    ? await openNotifications(config.dataDir, process.env, config.webhookPolicy)
    : announcing
      ? notificationsFromEnv(process.env, config.webhookPolicy)
      : undefined;
  if (notifications || announcing) {
    await ensureQueue(platform.queue, NOTIFICATION_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });
  }

  // One set of per-endpoint circuits: the dispatcher keeps them, the API shows each tenant its own.
  const webhookEndpoints = createWebhookEndpoints();
  const issuer = await loadEmbeddedIssuer(join(config.dataDir, 'keys', 'jwt-signing.jwk.json'));
  const events = createJobEvents();
  // Limits and fairness: per-tenant metrics from every job status change, throttles from admission.
  const metrics = createTenantMetrics();
  events.onAny((job) => metrics.observe(job));
  const metricsHistory = embedded ? bufferedHistory(createSqliteMetricsHistory(embedded.db)) : undefined;
  const diskSpace = diskSpaceOf(config.dataDir, config.minFreeBytes);
  const regions = regionPolicyFromEnv(process.env, embedded ? 'embedded' : 'aws');
  const hooks: ControlHooks = createControlHooks({
    regions,
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    metrics,
    queuedCount: embedded ? 'queue' : 'records',
    ...(awsControl ? { rateBuckets: awsControl.rateBuckets } : {}),
  });
  // Releases: model versions side by side; where each tenant may be placed (its contract region).
  // On AWS the current release is the DynamoDB item every function reads, not the folder's file.
  const releasesDir = releasesDirOf(config.dataDir);
  // Embedded, the pointer is the folder's current.json: the folder must exist before an upgrade writes it.
  // A platform that never had a release installed had none, so an upgrade to `builtin` (a rollback, or one
  // asked by hand) failed its first step with ENOENT on every try, was driven again forever, and every
  // later upgrade was refused with 409 `rollout_in_progress`, across restarts.
  if (!('releasePointer' in platform)) await mkdir(releasesDir, { recursive: true });
  const releases =
    'releasePointer' in platform
      ? openReleaseCatalog(releasesDir, platform.releasePointer)
      : openEmbeddedReleaseCatalog(releasesDir);
  // What a crash left in the job databases' outboxes goes onto the queues before the first request.
  embedded?.intake.drainAll();
  const billingDeps = billingDepsFor(platform, embedded ? 'embedded' : 'aws');
  const app = await buildApp({
    releases,
    regions,
    ...(billingDeps ? { billing: billingDeps } : {}),
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    ...(embedded ? { intake: embedded.intake } : {}),
    events,
    issuer,
    tokenLifetimes: config.tokenLifetimes,
    control: hooks,
    ...(awsControl?.infrastructure ? { infrastructure: awsControl.infrastructure } : {}),
    metrics,
    authenticator: createAuthenticator({
      directory: platform.directory,
      embeddedPublicJwk: issuer.publicJwk,
      lifetimes: config.tokenLifetimes,
      ...(config.oidc ? { oidc: config.oidc } : {}),
    }),
    authConfig: config.authConfig,
    webRoot: WEB_ROOT,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    // Embedded, every status change happens in this process's function host or its child processes and
    // is published to `events`; on the AWS backend other processes may run the same queues' jobs.
    eventStreams: { ...config.eventStreams, pollMs: embedded ? 0 : 5000 },
    queueSettings: queueOptions,
    functions: () => placement?.dedicated.functions() ?? [],
    diskSpace,
    ...(metricsHistory ? { metricsHistory } : {}),
    logger: { level: config.logLevel },
    webhookPolicy: config.webhookPolicy,
    ...(embedded ? { jobSpans: localJobSpans(config.dataDir) } : {}),
    webhookHealth: createWebhookHealth({
      endpoints: webhookEndpoints,
      queue: platform.queue,
      countsByGroup: embedded !== undefined,
    }),
    resetWebhookEndpoint: (tenant) => webhookEndpoints.reset(webhookEndpointKey(tenant)),
    ...(notifications ? { notifications: notifications.offer } : {}),
  });

  // Stored settings are checked as they are read back: an invalid tenant is named (and refused on use),
  // never a reason for the platform, or any other tenant, not to start.
  await reportInvalidSettings(platform.directory, (tenantId, errors, message) =>
    app.log.warn({ tenantId, errors }, message),
  ).catch((error) => app.log.error({ err: error }, 'checking stored tenant settings'));

  // Every prebuilt entry checked (and rebuilt when a source changed) now, before the API listens: built
  // lazily, a stale bundle was built on the event loop by the first move step or fork that needed it (a
  // 0.3 s stall of every request during a promotion, bench/placement.ts, after an edit of the sources).
  for (const entry of Object.keys(PREBUILT_ENTRIES) as PrebuiltEntry[]) prebuiltEntry(entry);

  const host = startFunctionHost({
    queue: platform.queue,
    directory: platform.directory,
    stores: platform.stores,
    models: listModels().map((m) => m.name),
    factory: {
      module: moduleUrl(embedded ? './embedded-wiring' : './aws-wiring', import.meta.url),
      // The same factory, built into a bundle the threads start from (no tsx in a thread).
      ...(embedded ? { prebuilt: 'function-thread-embedded' as const } : {}),
      options: {
        dataDir: config.dataDir,
        maxReceiveCount: config.maxReceiveCount,
        ...(awsEnv ? { env: awsEnv } : {}),
      },
    },
    visibilityTimeoutSec: config.visibilityTimeoutSec,
    webhookPolicy: config.webhookPolicy,
    webhookEndpoints,
    ...(config.workers ? { poolSize: config.workers } : {}),
    ...(config.eventsPerThread ? { perThread: config.eventsPerThread } : {}),
    // On the AWS adapters dedicated lanes are TenantStack Lambdas in production; here the pool stands in.
    poolDedicatedLanes: !embedded,
    settleTimedOut: (queue, body) =>
      settleTimedOut(
        {
          directory: platform.directory,
          stores: platform.stores,
          queue: platform.queue,
          notifications: notifications !== undefined || announcing,
          notify: (job) => events.publish(job),
        },
        queue,
        body,
      ),
    onJob: (job) => events.publish(job),
    onError: (error) => app.log.error({ err: error }, 'function host error'),
  });

  const recovery = startJobRecovery(
    config,
    platform,
    events,
    metrics,
    app,
    notifications !== undefined || announcing,
  );

  // The change is saved either way: a refresh that fails (or passes its deadline, PassDeadlineError) is logged,
  // the route still answers, and the next refresh (2 s) applies it. Awaited, it answered 500 after a deadline.
  const refreshAfterTenantChange = (): Promise<void> =>
    Promise.all([host.refresh(), placement.dedicated.refresh()])
      .then(() => undefined)
      .catch((error) => app.log.error({ err: error }, 'limits refresh'));

  const placement = embedded
    ? startEmbeddedPlacement(config, embedded, app, events, {
        catalog: releases,
        regions,
        ...(metricsHistory ? { alarms: createHistoryReleaseAlarms(metricsHistory) } : {}),
      })
    : startAwsPlacement(awsControl as AwsControl, app, { catalog: releases, regions });
  releaseRoutes(app, {
    directory: platform.directory,
    catalog: releases,
    regions,
    rollouts: placement.rollouts,
    tenantChanged: () => refreshAfterTenantChange(),
  });
  for (const { tenantId, from, to, ms } of migrated)
    app.log.info({ tenantId, from, to, ms }, "migrated a dedicated tenant's database at start");
  hooks.onboardMoving = (tenantId, create) => placement.moves.onboard(tenantId, create);
  hooks.onboardDedicated = (tenant, provisionAndCreate) =>
    placement.moves.onboardDedicated(tenant, provisionAndCreate);
  hooks.applySettings = (tenantId) => placement.moves.applySettings(tenantId);
  // Limits of a new or changed tenant apply at once, not at the host's next refresh; so do a new dedicated
  // tenant's lanes and a dedicated tenant's function settings (docs/placement.md).
  hooks.tenantChanged = () => refreshAfterTenantChange();

  // The placement advisor: recommendations for operators, and moves for tenants whose policy is `auto`.
  const advisor = {
    ...advisorFor(
      {
        directory: platform.directory,
        stores: platform.stores,
        queue: platform.queue,
        metrics,
        ...(billingDeps ? { billing: billingDeps } : {}),
      },
      { operations: placement.operations, respectOperatorMs: respectOperatorMsFrom(process.env) },
    ),
    regions,
  };
  const move = placement
    ? (tenantId: string, to: Placement) => placement.moves.start(tenantId, to)
    : undefined;
  advisorRoutes(app, { ...advisor, ...(move ? { move } : {}) });
  const autoPlacement = move
    ? startAutoPlacement({
        advisor,
        move,
        onError: (error, tenantId) => app.log.error({ err: error, tenantId }, 'auto placement'),
      })
    : undefined;

  const history = metricsHistory
    ? startEmbeddedMetricsHistory(config, {
        store: metricsHistory,
        metrics,
        queue: platform.queue,
        directory: platform.directory,
        diskSpace,
        functions: () => placement?.dedicated.functions() ?? [],
        app,
      })
    : undefined;
  const billing = startBilling(app, platform, {
    ...(hooks.tenantChanged ? { tenantChanged: hooks.tenantChanged } : {}),
    meterIntervalMs: config.meterIntervalSec * 1000,
    // A dedicated tenant's store is written by its own function process here: its host meters its jobs.
    ...(embedded
      ? {
          hosted: {
            hosts: (tenant: Tenant) => tenant.placement === 'dedicated',
            carries: (tenantId: string, jobId: string) => placement.dedicated.carries(tenantId, jobId),
          },
        }
      : {}),
  });
  await billing.ready;

  // A dedicated onboarding a crash cut short between its lanes and its record is settled before the first
  // request (embedded, this process holds DATA_DIR alone; on AWS the control function settles them).
  if (embedded) await placement.moves.reconcileOnboardings();
  await options.beforeListen?.();
  const address = await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
    throw isAddressInUse(error) ? new PortInUseError(config.port, { cause: error }) : error;
  });
  // The address the server holds, never a name for it: `localhost` is ::1 first on macOS and Debian, where any
  // local user may listen at this port while the server holds 127.0.0.1 alone, and be sent the operator
  // token by the CLI and the login link's page by a browser. `[::]` (every address) is reached at ::1.
  const localUrl = address.replace('//[::]:', '//[::1]:');
  const url = config.publicUrl ?? localUrl;
  // After listening, off the start: a request that comes first compiles what it needs itself.
  setImmediate(() => warmInputValidation(listModels()));
  const mintOperatorToken = () =>
    issuer.mint({
      subject: 'operator',
      tenants: [],
      roles: ['operator'],
      lifetimeSec: config.tokenLifetimes.operatorSec,
    });
  const operatorToken = await mintOperatorToken();
  const notifier = notifications
    ? startNotificationDispatcher({
        queue: platform.queue,
        directory: platform.directory,
        stores: platform.stores,
        ...notifications.channels,
        publicUrl: url,
        onError: (error) => app.log.warn({ err: error }, 'notification delivery failed; it will be retried'),
      })
    : undefined;

  await placement?.moves.resume();
  await placement.rollouts.resume();

  return {
    app,
    url,
    localUrl,
    operatorToken,
    mintOperatorToken,
    host,
    events,
    async stop(drainMs = 0) {
      const deadline = Date.now() + drainMs;
      autoPlacement?.stop();
      await billing.stop();
      // Requests in flight finish while the functions drain; new ones are answered 503.
      const closing = app.close();
      await Promise.all([placement?.moves.stop(), placement.rollouts.stop()]);
      await Promise.all([
        closing,
        host.stop(deadline),
        placement?.dedicated.stop(deadline),
        recovery.stop(),
        notifier?.stop(),
      ]);
      notifications?.close();
      awsControl?.close();
      await history?.stop();
      await platform.close();
      await tracing.shutdown();
    },
  };
}

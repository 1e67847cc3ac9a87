import awsLambdaFastify from '@fastify/aws-lambda';
import type { Context } from 'aws-lambda';
import type { AuthConfig } from '../api/deps.ts';
import { webhookTargetPolicyFromEnv } from '../core/webhook-target.ts';
import { startTracing } from '../observability/tracing.ts';
import { createAwsPorts } from './aws-wiring.ts';
import { apiOidcFromEnv, trustProxyOf } from './config.ts';
import { moveDriverOf } from './move-driver.ts';
import { notificationsFromEnv } from './notifications.ts';

type ProxyHandler = ReturnType<typeof awsLambdaFastify>;

/**
 * The API behind API Gateway's JWT authorizer. The app verifies the token again itself: the
 * authorizer keeps unauthenticated traffic off the function, the app decides which tenants it grants.
 */
async function createProxy(): Promise<ProxyHandler> {
  // Loaded lazily so the module graph of the app (Fastify, Swagger) is paid for inside the first invocation.
  const [
    { buildApp },
    { createAuthenticator },
    { createJobEvents },
    { placementRoutes },
    { createMoveRunner },
    { createAwsControl },
    { createControlHooks },
    { advisorRoutes },
    { advisorFor, respectOperatorMsFrom },
    { createRolloutRunner },
    { releaseRoutes },
  ] = await Promise.all([
    import('../api/app.ts'),
    import('../api/auth/authenticator.ts'),
    import('../runtime/job-events.ts'),
    import('../api/routes/placement.ts'),
    import('../control/placement-move.ts'),
    import('./aws-control.ts'),
    import('../control/hooks.ts'),
    import('../api/routes/advisor.ts'),
    import('../control/advisor.ts'),
    import('../control/release-rollout.ts'),
    import('../api/routes/releases.ts'),
  ]);
  const ports = createAwsPorts();
  const control = createAwsControl(ports);
  // This process freezes between requests: it records moves, the control function drives them.
  const moves = createMoveRunner({ ...control.deps, drive: moveDriverOf(process.env, 'scheduled') });
  // Upgrades the same way: an operator starts one here, the control function drives it in waves.
  const rollouts = createRolloutRunner({
    ...control.deps,
    catalog: control.releases,
    ...(control.alarms ? { alarms: control.alarms } : {}),
    drive: moveDriverOf(process.env, 'scheduled'),
  });
  const oidc = apiOidcFromEnv(process.env);
  const authConfig: AuthConfig = { mode: 'oidc', oidc: oidc.login };
  const webhookPolicy = webhookTargetPolicyFromEnv(process.env);
  // The channels the CDK app configured (its notification secret): users opt in here, codes are mailed here.
  const notifications = notificationsFromEnv(process.env, webhookPolicy);
  const app = await buildApp({
    ...(notifications ? { notifications: notifications.offer } : {}),
    directory: ports.directory,
    queue: ports.queue,
    stores: ports.stores,
    events: createJobEvents(),
    authConfig,
    authenticator: createAuthenticator({
      directory: ports.directory,
      // Cognito puts custom attributes and groups in its claims (the defaults); other issuers configure theirs.
      oidc: oidc.verifier,
    }),
    webhookPolicy,
    // Jobs change in other Lambdas, never in this one: one shared re-read per second feeds the streams.
    // API Gateway buffers a Lambda's answer and gives up after 30 s, so a stream ends (and the client
    // reconnects) well before that.
    eventStreams: { pollMs: 1000, maxLifeMs: 25_000 },
    // API Gateway's `sourceIp` is the address of the connection it accepted, and @fastify/aws-lambda hands it
    // to Fastify as the socket's address: the client is known without reading `X-Forwarded-For`. Trusting
    // one hop would read the entry API Gateway appends, the same address, and break silently if another
    // proxy (CloudFront) were put in front; so nothing is trusted unless SILOPOOL_TRUST_PROXY says so.
    trustProxy: trustProxyOf(process.env),
    ...(control.infrastructure ? { infrastructure: control.infrastructure } : {}),
    ...(control.deps.regions ? { regions: control.deps.regions } : {}),
    control: {
      ...createControlHooks({
        ...(control.deps.regions ? { regions: control.deps.regions } : {}),
        directory: ports.directory,
        queue: ports.queue,
        stores: ports.stores,
        queuedCount: 'records',
        rateBuckets: control.rateBuckets,
      }),
      onboardMoving: (tenantId, create) => moves.onboard(tenantId, create),
      onboardDedicated: (tenant, provisionAndCreate) => moves.onboardDedicated(tenant, provisionAndCreate),
      applySettings: (tenantId) => moves.applySettings(tenantId),
    },
  });
  advisorRoutes(app, {
    ...advisorFor(
      { directory: ports.directory, stores: ports.stores, queue: ports.queue },
      { operations: ports.operations, respectOperatorMs: respectOperatorMsFrom(process.env) },
    ),
    regions: control.regions,
    move: (tenantId, to) => moves.start(tenantId, to),
  });
  releaseRoutes(app, {
    directory: ports.directory,
    catalog: control.releases,
    regions: control.regions,
    rollouts,
  });
  placementRoutes(app, {
    moves,
    operations: ports.operations,
    // Offboarding is an operation: the control function drives it, as it does moves.
    exports: ports.stores.objects({ kind: 'shared' }),
    functions: () => [],
  });
  // The proxy decorates the request, which Fastify allows only before the app is ready.
  const proxy = awsLambdaFastify(app, {
    binaryMimeTypes: ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
  });
  await app.ready();
  return proxy;
}

let proxy: Promise<ProxyHandler> | undefined;
// Spans go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the collector layer; docs/aws.md).
const tracing = startTracing({ service: 'silopool-api', context: 'explicit' });

export async function handler(event: unknown, context: Context): Promise<unknown> {
  proxy ??= createProxy();
  // Flushed before answering: a frozen sandbox sends nothing.
  return (proxy as Promise<ProxyHandler>)
    .then((run) => (run as (e: unknown, c: Context) => Promise<unknown>)(event, context))
    .finally(() => tracing.flush());
}

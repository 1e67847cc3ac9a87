import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.ts';
import { createAuthenticator } from '../api/auth/authenticator.ts';
import { loadEmbeddedIssuer } from '../api/auth/issuer.ts';
import { sharedQueueName } from '../core/placement.ts';
import { createControlHooks } from '../control/hooks.ts';
import { ensureQueue, WEBHOOK_QUEUE } from '../control/lanes.ts';
import { createTenantMetrics } from '../control/metrics.ts';
import { listModels } from '../models/registry.ts';
import { startFunctionHost, type FunctionHost } from '../runtime/function-host.ts';
import { createJobEvents } from '../runtime/job-events.ts';
import { moduleUrl } from '../runtime/module-url.ts';
import type { ServerConfig } from './config.ts';
import { openEmbeddedPlatform } from './embedded-wiring.ts';

export interface RunningPlatform {
  app: FastifyInstance;
  url: string;
  operatorToken: string;
  host: FunctionHost;
  stop(): Promise<void>;
}

/** Everything of the embedded default in one process: API, control plane, function host, web app. */
export async function startPlatform(config: ServerConfig): Promise<RunningPlatform> {
  const platform = openEmbeddedPlatform(config.dataDir);
  const queueOptions = { visibilityTimeoutSec: config.visibilityTimeoutSec, maxReceiveCount: config.maxReceiveCount };
  for (const model of listModels()) await ensureQueue(platform.queue, sharedQueueName(model.name), queueOptions);
  await ensureQueue(platform.queue, WEBHOOK_QUEUE, { visibilityTimeoutSec: 30, maxReceiveCount: 12 });

  const issuer = await loadEmbeddedIssuer(join(config.dataDir, 'keys', 'jwt-signing.jwk.json'));
  const events = createJobEvents();
  // Limits and fairness: per-tenant metrics from every job status change, throttles from admission.
  const metrics = createTenantMetrics();
  events.onAny((job) => metrics.observe(job));
  const app = await buildApp({
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    events,
    issuer,
    control: createControlHooks({
      directory: platform.directory,
      queue: platform.queue,
      stores: platform.stores,
      metrics,
    }),
    metrics,
    authenticator: createAuthenticator({
      directory: platform.directory,
      embeddedPublicJwk: issuer.publicJwk,
      ...(config.oidc ? { oidc: config.oidc } : {}),
    }),
    authConfig: config.authConfig,
    webRoot: fileURLToPath(new URL('../../web/dist', import.meta.url)),
    bodyLimit: config.bodyLimit,
    logger: { level: config.logLevel },
  });

  const host = startFunctionHost({
    queue: platform.queue,
    directory: platform.directory,
    stores: platform.stores,
    models: listModels().map((m) => m.name),
    factory: {
      module: moduleUrl('./embedded-wiring', import.meta.url),
      options: { dataDir: config.dataDir, maxReceiveCount: config.maxReceiveCount },
    },
    visibilityTimeoutSec: config.visibilityTimeoutSec,
    ...(config.workers ? { poolSize: config.workers } : {}),
    onJob: (job) => events.publish(job),
    onError: (error) => app.log.error({ err: error }, 'function host error'),
  });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = config.publicUrl ?? address.replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  const operatorToken = await issuer.mint({ subject: 'operator', tenants: [], roles: ['operator'], expiresIn: '30d' });

  return {
    app,
    url,
    operatorToken,
    host,
    async stop() {
      await app.close();
      await host.stop();
      await platform.close();
    },
  };
}

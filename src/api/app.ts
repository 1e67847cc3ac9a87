import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { NotFoundError, WebAppNotBuiltError } from '../core/errors.ts';
import { enforceAudiences, registerPublic } from './audience.ts';
import { grantsIncarnation } from './auth/authenticator.ts';
import { authenticate, isOperator } from './context.ts';
import type { AppDeps } from './deps.ts';
import { guardJsonBodies } from './json-body.ts';
import { sendProblem, withProblemResponses } from './problem.ts';
import { OneLinePerRequest } from './request-log.ts';
import { adminRoutes } from './routes/admin.ts';
import { adminJobRoutes } from './routes/admin-jobs.ts';
import { adminKeyRoutes } from './routes/admin-keys.ts';
import { adminUsageRoutes } from './routes/admin-usage.ts';
import { billingRoutes } from './routes/billing.ts';
import { jobStoryRoutes } from './routes/job-story.ts';
import { jobRoutes } from './routes/jobs.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { metricsHistoryRoutes } from './routes/metrics-history.ts';
import { modelRoutes } from './routes/models.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { tenantSettingsRoutes } from './routes/settings.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { answerUnroutedRequests, clientErrorHandler, frameworkErrors } from './server-errors.ts';
import { compileRouteSchemas } from './validators.ts';

const DEFAULT_BODY_LIMIT = 256 * 1024;

/** The HTTP API: the same app runs as the local server and behind API Gateway on Lambda. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Off unless configured: with it on, any sender chooses the address logs record (`X-Forwarded-For`).
    trustProxy: trustProxyOption(deps.trustProxy),
    return503OnClosing: true,
    logController: new OneLinePerRequest(),
    frameworkErrors,
    clientErrorHandler,
  });

  compileRouteSchemas(app);
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, error));
  answerUnroutedRequests(app.server);
  // The API speaks JSON only; anything else is a 415, not a string that fails later.
  app.removeContentTypeParser('text/plain');
  // A nesting cap before anything parses, clones or walks a body (a 100,000-deep array is a 400, not a stall).
  guardJsonBodies(app);

  // Headers first: their hook must run before the audience hook can refuse a request.
  await registerSecurityHeaders(app, deps.authConfig);
  enforceAudiences(app, deps);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Silopool API',
        version: '1.0.0',
        description: 'Multi-tenant financial models: submit, track, download.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A JWT or a tenant API key' },
        },
      },
      security: [{ bearer: [] }],
    },
    // Only an OpenAPI document is made here (never Swagger 2).
    transformObject: (document) =>
      withProblemResponses(
        ('openapiObject' in document ? document.openapiObject : document.swaggerObject) as Parameters<
          typeof withProblemResponses
        >[0],
      ),
  });
  await registerPublic(app, (scope) =>
    scope.register(fastifySwaggerUi, {
      routePrefix: '/docs',
      // Swagger UI inserts <style> elements as it renders: only its pages allow inline styles.
      transformStaticCSP: (header) => header.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
    }),
  );

  app.get(
    '/healthz',
    { config: { audience: 'public' }, schema: { tags: ['ops'], security: [] } },
    async (request, reply) => {
      const disk = await deps.diskSpace?.();
      if (!disk) return { status: 'ok' };
      // Low on disk: still serving (reads work, writes may be refused with 507), but a load balancer or
      // an operator should know before it is full.
      const low = disk.freeBytes < disk.minFreeBytes;
      // The figures tell whoever would fill the disk how far there is to go: operators only (as /metrics).
      const figures = (await isOperator(deps, request)) ? { disk } : {};
      return reply.code(low ? 503 : 200).send({ status: low ? 'degraded' : 'ok', ...figures });
    },
  );
  app.get(
    '/v1/auth/config',
    { config: { audience: 'public' }, schema: { tags: ['auth'], security: [] } },
    async () => deps.authConfig,
  );
  app.get(
    '/v1/me',
    {
      config: { audience: 'tenant' },
      schema: { tags: ['auth'], summary: 'Who the credential is and which tenants it grants' },
    },
    async (request) => {
      const principal = await authenticate(deps, request);
      const tenants = await Promise.all(
        [...principal.tenants].map(async (id) => {
          const tenant = await deps.directory.get(id);
          return tenant && tenant.status === 'active' && grantsIncarnation(principal.binding, tenant)
            ? { id: tenant.id, name: tenant.name }
            : undefined;
        }),
      );
      return {
        subject: principal.subject,
        roles: [...principal.roles],
        tenants: tenants.filter((t) => t !== undefined),
      };
    },
  );

  modelRoutes(app, deps);
  jobRoutes(app, deps);
  jobStoryRoutes(app, deps);
  tenantSettingsRoutes(app, deps);
  notificationRoutes(app, deps);
  adminRoutes(app, deps);
  adminJobRoutes(app, deps);
  adminKeyRoutes(app, deps);
  adminUsageRoutes(app, deps);
  billingRoutes(app, deps);
  metricsRoutes(app, deps);
  metricsHistoryRoutes(app, deps);

  const webRoot = deps.webRoot && existsSync(join(deps.webRoot, 'index.html')) ? deps.webRoot : undefined;
  if (webRoot) {
    await registerPublic(app, (scope) =>
      scope.register(fastifyStatic, { root: webRoot, wildcard: false, index: ['index.html'] }),
    );
  }
  const indexHtml = webRoot ? readFileSync(join(webRoot, 'index.html')) : undefined;
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // The web app routes in the browser: any other GET of a page answers its index.
    if (request.method === 'GET' && !path.startsWith('/v1/') && !path.startsWith('/docs')) {
      if (indexHtml) return reply.type('text/html; charset=utf-8').send(indexHtml);
      // A server meant to serve the app whose build is missing says so, not "Route GET /login was not found".
      if (deps.webRoot) return sendProblem(reply, request, new WebAppNotBuiltError());
    }
    return sendProblem(reply, request, new NotFoundError(`Route ${request.method} ${path}`));
  });
  return app;
}

/** Fastify takes a hop count at run time but its types do not; the function is exactly proxy-addr's for a count. */
function trustProxyOption(
  trust: AppDeps['trustProxy'],
): boolean | string[] | ((a: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust ?? false;
}

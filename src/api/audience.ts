import type { FastifyInstance, RouteOptions } from 'fastify';
import { requireMetricsReader, requireOperator, requireTenantCaller } from './context.ts';
import type { AppDeps } from './deps.ts';

/**
 * Who may call a route, declared where the route is registered (`config: { audience }`):
 * - `public`: no credential (health, auth settings, the OpenAPI document, the web app's files);
 * - `tenant`: any valid credential; the tenant a request acts for is then resolved from the credential
 *   by `tenantContext`, the only way a route reaches tenant data;
 * - `operator`: a credential with the `operator` role;
 * - `metrics`: a credential with the `operator` or the `metrics` role (a Prometheus scrape).
 * A credential whose only grant is `metrics` is refused by `tenant` and `operator` routes alike.
 */
export type Audience = 'public' | 'tenant' | 'operator' | 'metrics';

declare module 'fastify' {
  interface FastifyContextConfig {
    audience?: Audience;
  }
}

const AUDIENCES: ReadonlySet<string> = new Set<Audience>(['public', 'tenant', 'operator', 'metrics']);

/**
 * Enforces every route's declared audience from the route the router matched, never from the request's
 * text: `/v1/%61dmin/tokens` runs the `/v1/admin/tokens` route, so it meets that route's audience.
 * A route registered without an audience makes `app.ready()` throw, so none can be left open by omission.
 */
export function enforceAudiences(app: FastifyInstance, deps: AppDeps): void {
  const routes: RouteOptions[] = [];
  // Checked at ready, not at registration: plugins' routes (Swagger UI, static files) get their audience
  // from a scope's own onRoute hook, which runs after this root one.
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => !AUDIENCES.has(String(r.config?.audience)));
    if (missing.length > 0) {
      const names = missing.map((r) => `${[r.method].flat().join(',')} ${r.url}`).join('; ');
      throw new Error(
        `Routes registered without an audience (public, tenant, operator or metrics): ${names}`,
      );
    }
  });
  app.addHook('onRequest', async (request) => {
    // Unmatched requests (the not-found handler) carry no audience and reach no route.
    const audience = request.routeOptions.config?.audience;
    if (audience === 'operator') await requireOperator(deps, request);
    else if (audience === 'tenant') await requireTenantCaller(deps, request);
    else if (audience === 'metrics') await requireMetricsReader(deps, request);
  });
}

/** Registers a plugin whose routes are all public (documentation, static files) in a scope of its own. */
export async function registerPublic(
  app: FastifyInstance,
  register: (scope: FastifyInstance) => PromiseLike<unknown>,
): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, audience: 'public' };
    });
    await register(scope);
  });
}

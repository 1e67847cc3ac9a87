import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthorizedError } from '../core/errors.ts';
import { type Principal, scrapesOnly } from '../core/principal.ts';
import { incarnationOf, type Tenant } from '../core/tenant.ts';
import { renewAccess } from '../functions/notification-preferences.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { TenantData } from '../ports/stores.ts';
import { resolveTenant } from './auth/authenticator.ts';
import type { AppDeps } from './deps.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The tenant this request acted for, once resolved: what the API meter counts (api-meter.ts). */
    meteredTenant?: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>;
  }
}

export interface TenantContext {
  tenant: Tenant;
  data: TenantData;
}

export async function authenticate(deps: AppDeps, request: FastifyRequest): Promise<Principal> {
  if (request.principal) return request.principal;
  const principal = await deps.authenticator.authenticate(request.headers.authorization);
  request.principal = principal;
  bind(request, { subject: principal.subject });
  return principal;
}

/** The tenant this request acts for and a view of its data; the only way routes reach tenant data. */
export async function tenantContext(deps: AppDeps, request: FastifyRequest): Promise<TenantContext> {
  const principal = await authenticate(deps, request);
  const header = request.headers['x-tenant-id'];
  const tenant = await resolveTenant(principal, Array.isArray(header) ? header[0] : header, deps.directory);
  bind(request, { tenantId: tenant.id });
  request.meteredTenant = tenant;
  const data = tenantDataFor(deps.stores, tenant);
  if (tenant.notifiesUsers && principal.via === 'jwt')
    await renewUserAccess(request, principal, tenant, data);
  return { tenant, data };
}

/** Per (tenant incarnation, user): the access end last renewed here, so most requests skip the read. */
const renewed = new Map<string, number>();
const RENEW_EVERY_MS = 10 * 60_000;

/**
 * A user's request proves they hold a token granting the tenant until it expires: their notifications
 * (docs/notifications.md) last that long. Best effort: a failed renewal is logged, the request goes on.
 */
async function renewUserAccess(
  request: FastifyRequest,
  principal: Principal,
  tenant: Tenant,
  data: TenantData,
): Promise<void> {
  const until = principal.expiresAtMs;
  if (until === undefined) return;
  const key = `${tenant.id}\0${incarnationOf(tenant)}\0${principal.subject}`;
  if (until < (renewed.get(key) ?? 0) + RENEW_EVERY_MS) return;
  try {
    await renewAccess(data.objects, principal.subject, until, tenant.incarnation);
    if (renewed.size >= 10_000) renewed.clear();
    renewed.set(key, until);
  } catch (error) {
    request.log.warn({ err: error }, "renewing a user's notification access failed");
  }
}

/**
 * Whether the credential of a request that goes on (an event stream) still grants `tenant`, checked afresh as
 * a new request would be: false once its key is revoked or past its grace period, its token expired, the
 * tenant suspended or offboarded, or another tenant created under the same id. Throws what reading the
 * credential or the tenant throws otherwise (a storage fault): that says nothing about access.
 */
export async function stillGrants(deps: AppDeps, request: FastifyRequest, tenant: Tenant): Promise<boolean> {
  try {
    const principal = await deps.authenticator.authenticate(request.headers.authorization);
    const header = request.headers['x-tenant-id'];
    const now = await resolveTenant(principal, Array.isArray(header) ? header[0] : header, deps.directory);
    return now.id === tenant.id && incarnationOf(now) === incarnationOf(tenant);
  } catch (error) {
    if (error instanceof UnauthorizedError || error instanceof ForbiddenError) return false;
    throw error;
  }
}

export async function requireOperator(deps: AppDeps, request: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps, request);
  if (!principal.roles.has('operator')) throw new ForbiddenError('This route needs the operator role.');
  return principal;
}

/** A tenant route's caller: any valid credential but a scrape one, which reaches `GET /metrics` only. */
export async function requireTenantCaller(deps: AppDeps, request: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps, request);
  if (scrapesOnly(principal)) throw new ForbiddenError(SCRAPE_ONLY);
  return principal;
}

/** `GET /metrics`: an operator's credential or a scrape one (the `metrics` role). */
export async function requireMetricsReader(deps: AppDeps, request: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps, request);
  if (!principal.roles.has('operator') && !principal.roles.has('metrics'))
    throw new ForbiddenError('This route needs the metrics or the operator role.');
  return principal;
}

const SCRAPE_ONLY = 'A metrics credential reaches GET /metrics only: use a user or operator credential here.';

/** Whether the request carries a valid operator credential; anything else (none, invalid, a tenant's) is false. */
export async function isOperator(deps: AppDeps, request: FastifyRequest): Promise<boolean> {
  if (!request.headers.authorization) return false;
  return authenticate(deps, request).then(
    (principal) => principal.roles.has('operator'),
    () => false,
  );
}

/** Adds fields to this request's log lines; cheaper than a child logger per request. */
function bind(request: FastifyRequest, fields: Record<string, string>): void {
  const log = request.log as FastifyRequest['log'] & { setBindings?(b: Record<string, string>): void };
  log.setBindings?.(fields);
}

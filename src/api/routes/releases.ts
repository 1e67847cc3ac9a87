import type { FastifyInstance } from 'fastify';
import { operationView } from '../../control/operations.ts';
import type { RolloutRunner } from '../../control/release-rollout.ts';
import { type ReleaseSettingsDeps, releaseView, setPins, setRegion } from '../../control/release-settings.ts';
import { allTenants } from '../../control/tenants.ts';
import { NotFoundError, ReleasePointerError } from '../../core/errors.ts';
import { parseTenantId } from '../../core/ids.ts';
import { tenantView } from './admin.ts';

export interface ReleaseRouteDeps extends ReleaseSettingsDeps {
  rollouts: RolloutRunner;
  /** After a tenant's pins or region change (the host re-reads it). */
  tenantChanged?(tenantId: string): Promise<void>;
}

/**
 * Operator routes of releases: the releases loaded (and who runs each), the upgrade operation that
 * rolls one out in waves, and a tenant's pins and contract region. Every route is for operators.
 */
export function releaseRoutes(app: FastifyInstance, deps: ReleaseRouteDeps): void {
  app.get(
    '/v1/admin/releases',
    {
      config: { audience: 'operator' },
      schema: { tags: ['admin'], summary: 'Releases: model versions, tenant variants, the tenants on each' },
    },
    async () => {
      const [{ releases, invalid }, current, tenants] = await Promise.all([
        deps.catalog.list(),
        // A damaged pointer is what a rollout repairs: the list answers with it (no release current, the
        // problem in `pointer`), so the console and the CLI can offer the rollout instead of only a 503.
        deps.catalog.current().catch((error: unknown) => {
          if (error instanceof ReleasePointerError) return error;
          throw error;
        }),
        allTenants(deps),
      ]);
      if (current instanceof ReleasePointerError) {
        return {
          current: null,
          pointer: { code: current.code, message: current.message },
          // Only tenants whose release is recorded on them are known to run one.
          items: releases.map((r) => releaseView(r, '', tenants)),
          invalid,
        };
      }
      return { current, items: releases.map((r) => releaseView(r, current, tenants)), invalid };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/admin/releases/:id',
    { config: { audience: 'operator' }, schema: { tags: ['admin'], summary: 'One release' } },
    async (request) => {
      const release = await deps.catalog.get(request.params.id);
      if (!release) throw new NotFoundError(`Release "${request.params.id}"`);
      return releaseView(release, await deps.catalog.current(), await allTenants(deps));
    },
  );

  app.post<{
    Params: { id: string };
    Body:
      | {
          canary?: string;
          growth?: number;
          maxWave?: number;
          observeSec?: number;
          minJobs?: number;
          maxObserveSec?: number;
        }
      | undefined;
  }>(
    '/v1/admin/releases/:id/rollout',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          'Roll a release to every dedicated tenant in waves (canary first); 202 with the upgrade operation to poll',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            canary: { type: 'string', description: 'The canary tenant (default: the first by id)' },
            growth: {
              type: 'number',
              minimum: 1,
              maximum: 10,
              description: 'Each wave is this many times the last',
            },
            maxWave: { type: 'integer', minimum: 1, maximum: 10_000 },
            observeSec: {
              type: 'number',
              minimum: 0,
              maximum: 86_400,
              description: 'How long each wave is watched',
            },
            minJobs: {
              type: 'integer',
              minimum: 0,
              maximum: 10_000,
              description:
                'Jobs each tenant must run on the release while watched (default 1); fewer: the wave is unobserved, not healthy, and the next wave is a canary of one',
            },
            maxObserveSec: {
              type: 'number',
              minimum: 0,
              maximum: 604_800,
              description:
                'The longest a wave is watched waiting for those jobs (default 4 × observeSec; at least observeSec, else 400)',
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {};
      const op = await deps.rollouts.start(request.params.id, {
        ...(body.canary !== undefined ? { canary: body.canary } : {}),
        ...(body.growth !== undefined ? { growth: body.growth } : {}),
        ...(body.maxWave !== undefined ? { maxWave: body.maxWave } : {}),
        ...(body.observeSec !== undefined ? { observeMs: body.observeSec * 1000 } : {}),
        ...(body.minJobs !== undefined ? { minJobs: body.minJobs } : {}),
        ...(body.maxObserveSec !== undefined ? { maxObserveMs: body.maxObserveSec * 1000 } : {}),
      });
      return reply.code(202).header('location', `/v1/admin/operations/${op.id}`).send(operationView(op));
    },
  );

  app.get(
    '/v1/admin/rollouts',
    {
      config: { audience: 'operator' },
      schema: { tags: ['admin'], summary: 'Upgrade operations, newest first' },
    },
    async () => ({ items: (await deps.rollouts.list()).map(operationView) }),
  );

  app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
    '/v1/admin/rollouts/:id/abort',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          'Abort a running upgrade: the wave in progress is rolled back and the upgrade ends failed (code aborted); 202 with the operation to poll',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            reason: { type: 'string', minLength: 1, maxLength: 500, description: 'Recorded with the abort' },
          },
        },
      },
    },
    async (request, reply) => {
      const reason = request.body?.reason;
      const op = await deps.rollouts.abort(request.params.id, ...(reason !== undefined ? [reason] : []));
      return reply.code(202).header('location', `/v1/admin/operations/${op.id}`).send(operationView(op));
    },
  );

  app.put<{ Params: { id: string }; Body: { pins: Record<string, string> } }>(
    '/v1/admin/tenants/:id/pins',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          "Pin a tenant's models to versions (`{}` unpins): its jobs run on them, whatever the release",
        body: {
          type: 'object',
          required: ['pins'],
          additionalProperties: false,
          properties: {
            pins: {
              type: 'object',
              maxProperties: 50,
              additionalProperties: { type: 'string', maxLength: 20 },
            },
          },
        },
      },
    },
    async (request) => {
      const id = parseTenantId(request.params.id, '/params/id');
      const tenant = await setPins(deps, id, request.body.pins);
      await deps.tenantChanged?.(id);
      return tenantView(tenant);
    },
  );

  app.put<{ Params: { id: string }; Body: { region: string | null } }>(
    '/v1/admin/tenants/:id/region',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: "A tenant's contract region (data residency); null clears it",
        body: {
          type: 'object',
          required: ['region'],
          additionalProperties: false,
          properties: { region: { type: ['string', 'null'], maxLength: 40 } },
        },
      },
    },
    async (request) => {
      const id = parseTenantId(request.params.id, '/params/id');
      const tenant = await setRegion(deps, id, request.body.region ?? undefined);
      await deps.tenantChanged?.(id);
      return tenantView(tenant);
    },
  );
}

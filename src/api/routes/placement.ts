import type { FastifyInstance, FastifyReply } from 'fastify';
import { operationView } from '../../control/operations.ts';
import type { MoveRunner } from '../../control/placement-move.ts';
import { ConflictError, NotFoundError } from '../../core/errors.ts';
import { parseTenantId } from '../../core/ids.ts';
import type { Placement } from '../../core/tenant.ts';
import type { ObjectStore } from '../../ports/object-store.ts';
import type { OperationStore } from '../../ports/operation-store.ts';
import type { FunctionInfo } from '../../runtime/process-runtime.ts';

export interface PlacementRouteDeps {
  moves: MoveRunner;
  operations: OperationStore;
  /** The shared store, where an offboarding operation keeps its export. */
  exports: ObjectStore;
  functions(): FunctionInfo[];
  /** Spare function processes (bound to no tenant) the host keeps now: loaded, and still loading. */
  spares?(): { loaded: number; loading: number };
}

/**
 * Operator routes of the hybrid: placement moves and their operations, offboarding, dedicated functions.
 * Registered on the app after `buildApp`; each route declares the operator audience, which `buildApp` enforces.
 */
export function placementRoutes(app: FastifyInstance, placement: PlacementRouteDeps): void {
  app.post<{ Params: { id: string }; Body: { placement: Placement; region?: string } }>(
    '/v1/admin/tenants/:id/placement',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Promote or demote a tenant; answers 202 with the move operation to poll',
        body: {
          type: 'object',
          required: ['placement'],
          additionalProperties: false,
          properties: {
            placement: { type: 'string', enum: ['shared', 'dedicated'] },
            region: {
              type: 'string',
              maxLength: 40,
              description: "With `dedicated`: the contract region the tenant's stack and data move to",
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { region } = request.body;
      // The region is recorded with the move, in the one write that starts it (placement-move.ts `start`).
      const op = await placement.moves.start(
        request.params.id,
        request.body.placement,
        region !== undefined ? { region } : {},
      );
      return reply.code(202).header('location', `/v1/admin/operations/${op.id}`).send(operationView(op));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/admin/operations/:id',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          'An operation (a placement move, new settings applied, an offboarding): status, progress and steps',
      },
    },
    async (request) => {
      const op = await placement.operations.get(request.params.id);
      if (!op) throw new NotFoundError(`Operation "${request.params.id}"`);
      return operationView(op);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id/operations',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: "A tenant's operations (moves, settings applied, offboarding), newest first",
      },
    },
    async (request) => {
      const tenantId = parseTenantId(request.params.id, '/params/id');
      const ops = await placement.operations.listByTenant(tenantId);
      ops.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
      return { items: ops.map(operationView) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/admin/operations/:id/export',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: "An offboarding's export (a zip), from when its export step is done (409 before)",
      },
    },
    async (request, reply) => {
      const op = await placement.operations.get(request.params.id);
      if (op?.kind !== 'offboard') throw new NotFoundError(`Offboarding "${request.params.id}"`);
      // The operation points at its export only once the whole zip is stored.
      if (!op.params.export)
        throw new ConflictError('The offboarding has not finished its export yet.', 'not_ready');
      const stored = await placement.exports.get(op.params.export);
      if (!stored) throw new NotFoundError(`The export of ${op.tenantId}`);
      return sendExport(reply, op.tenantId, stored.body);
    },
  );

  app.get(
    '/v1/admin/functions',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          'Dedicated function processes: state, pid, cold start (and whether from a spare), events in flight; `spares`: processes loaded ahead and bound to no tenant',
      },
    },
    async () => ({ items: placement.functions(), spares: placement.spares?.() ?? { loaded: 0, loading: 0 } }),
  );

  // Both answer 202 with the offboarding operation (a retry while it runs answers the same one); its
  // export is downloaded from `GET /v1/admin/operations/{id}/export`.
  app.post<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id/offboard',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          'Offboard a tenant: 202 with the operation (export first, then everything of it is deleted); its export is at …/operations/{id}/export',
      },
    },
    (request, reply) => offboard(request.params.id, reply),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Offboard a tenant (the same as POST …/offboard): 202 with the operation',
      },
    },
    (request, reply) => offboard(request.params.id, reply),
  );

  async function offboard(tenantId: string, reply: FastifyReply) {
    const op = await placement.moves.offboard(tenantId);
    return reply.code(202).header('location', `/v1/admin/operations/${op.id}`).send(operationView(op));
  }
}

/** A tenant's export as a zip download. */
function sendExport(reply: FastifyReply, tenantId: string, zip: Uint8Array) {
  return reply
    .header('content-type', 'application/zip')
    .header('content-disposition', `attachment; filename="${tenantId}-export.zip"`)
    .send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
}

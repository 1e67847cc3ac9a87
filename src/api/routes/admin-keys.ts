import type { FastifyInstance } from 'fastify';
import { listApiKeys, MAX_ROTATION_GRACE_SEC, revokeApiKey, rotateApiKey } from '../../control/api-keys.ts';
import { parseTenantId } from '../../core/ids.ts';
import type { AppDeps } from '../deps.ts';

const keyParams = {
  type: 'object',
  required: ['id', 'keyId'],
  properties: {
    id: { type: 'string' },
    keyId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  },
} as const;

const keyView = {
  type: 'object',
  required: ['id', 'prefix', 'createdAt'],
  properties: {
    id: { type: 'string' },
    prefix: { type: 'string', description: 'The first characters of the key, to tell keys apart' },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time', description: 'End of a grace period after rotation' },
    lastUsedAt: { type: 'string', format: 'date-time', description: 'To the minute' },
  },
} as const;

/** Operators list, revoke and rotate a tenant's API keys; secrets and hashes never leave the server. */
export function adminKeyRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id/api-keys',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: "The tenant's working API keys (never the secrets)",
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: keyView } } } },
      },
    },
    async (request) => {
      return { items: await listApiKeys(deps, parseTenantId(request.params.id, '/params/id')) };
    },
  );

  app.delete<{ Params: { id: string; keyId: string } }>(
    '/v1/admin/tenants/:id/api-keys/:keyId',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke an API key: the next request with it answers 401',
        params: keyParams,
      },
    },
    async (request, reply) => {
      await revokeApiKey(deps, parseTenantId(request.params.id, '/params/id'), request.params.keyId);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string; keyId: string }; Body: { graceSeconds?: number } | undefined }>(
    '/v1/admin/tenants/:id/api-keys/:keyId/rotate',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary:
          'Issue a new API key (shown once) in place of one; the old one stops now or after a grace period',
        params: keyParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            graceSeconds: {
              type: 'integer',
              minimum: 0,
              maximum: MAX_ROTATION_GRACE_SEC,
              description: 'How long the old key keeps working (default 0: revoked at once)',
            },
          },
        },
      },
    },
    async (request, reply) => {
      const rotated = await rotateApiKey(
        deps,
        parseTenantId(request.params.id, '/params/id'),
        request.params.keyId,
        request.body?.graceSeconds ?? 0,
      );
      return reply.code(201).send(rotated);
    },
  );
}

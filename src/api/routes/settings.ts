import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { updateTenant } from '../../control/tenants.ts';
import { ValidationError } from '../../core/errors.ts';
import { tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';

/** Settings a tenant manages itself. */
export function tenantSettingsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const control = { directory: deps.directory, queue: deps.queue, stores: deps.stores };

  app.put<{ Body: { url: string } }>(
    '/v1/settings/webhook',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['settings'],
        summary: 'Set the webhook URL; the signing secret is returned once',
        body: {
          type: 'object',
          required: ['url'],
          additionalProperties: false,
          properties: { url: { type: 'string', maxLength: 2048 } },
        },
      },
    },
    async (request) => {
      const { tenant } = await tenantContext(deps, request);
      let url: URL;
      try {
        url = new URL(request.body.url);
      } catch {
        throw new ValidationError([
          { path: '/body/url', message: 'must be an absolute http(s) URL', rule: 'format' },
        ]);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new ValidationError([{ path: '/body/url', message: 'must be an http(s) URL', rule: 'format' }]);
      }
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      await updateTenant(control, tenant.id, { config: { webhook: { url: url.toString(), secret } } });
      return { url: url.toString(), secret };
    },
  );

  app.delete(
    '/v1/settings/webhook',
    { config: { audience: 'tenant' }, schema: { tags: ['settings'] } },
    async (request, reply) => {
      const { tenant } = await tenantContext(deps, request);
      const { webhook: _old, ...config } = tenant.config;
      await updateTenant(control, tenant.id, { config: { ...config, webhook: undefined } as never });
      return reply.code(204).send();
    },
  );
}

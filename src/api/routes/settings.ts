import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { updateTenant } from '../../control/tenants.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { checkWebhookUrl, STRICT_WEBHOOK_POLICY } from '../../core/webhook-target.ts';
import { tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';

/** Settings a tenant manages itself. */
export function tenantSettingsRoutes(app: FastifyInstance, deps: AppDeps): void {
  const control = { directory: deps.directory, queue: deps.queue, stores: deps.stores };
  const policy = deps.webhookPolicy ?? STRICT_WEBHOOK_POLICY;

  app.put<{ Body: { url: string } }>(
    '/v1/settings/webhook',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['settings'],
        summary: 'Set the webhook URL; the signing secret is returned once',
        description:
          'The URL must be https (plain http only where the operator allows it) without credentials, and its ' +
          'host a public address or name: loopback, private, link-local, unique-local, IPv4-mapped and other ' +
          'special-purpose addresses in any spelling, and internal names (`localhost`, `*.internal`, `*.local`, ' +
          'one-label names) are refused with 400 unless the operator allowlists them. Deliveries check the ' +
          'address they connect to again and never follow redirects.',
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
      const target = checkWebhookUrl(request.body.url, policy);
      if (!target.ok) {
        throw new ValidationError([
          { path: '/body/url', message: target.reason, rule: `webhook_${target.kind}` },
        ]);
      }
      const url = target.url;
      const secret = `whsec_${randomBytes(24).toString('base64')}`;
      await updateTenant(control, tenant.id, { config: { webhook: { url: url.toString(), secret } } });
      deps.resetWebhookEndpoint?.(tenant);
      return { url: url.toString(), secret };
    },
  );

  app.get(
    '/v1/settings/webhook',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['settings'],
        summary: "The webhook URL and its endpoint's delivery state (never the secret)",
        description:
          '`health.state` is `healthy`, `failing` (deliveries fail; `consecutiveFailures`, `failingSince`, ' +
          '`lastError`) or `circuit_open` (after repeated failures nothing is sent until `retryAt`; the ' +
          'deliveries wait on the queue). `deadLetteredDeliveries` counts deliveries that exhausted their ' +
          'retries. `health` is absent where this API does not run the deliveries (the AWS API).',
        response: { 200: webhookSettingsSchema },
      },
    },
    async (request) => {
      const { tenant } = await tenantContext(deps, request);
      const webhook = tenant.config.webhook;
      if (!webhook) throw new NotFoundError('A webhook for this tenant');
      const health = await deps.webhookHealth?.(tenant);
      return { url: webhook.url, ...(health ? { health } : {}) };
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

const webhookSettingsSchema = {
  type: 'object',
  required: ['url'],
  properties: {
    url: { type: 'string' },
    health: {
      type: 'object',
      required: ['state', 'consecutiveFailures'],
      properties: {
        state: { type: 'string', enum: ['healthy', 'failing', 'circuit_open'] },
        consecutiveFailures: { type: 'integer', minimum: 0 },
        failingSince: { type: 'string', format: 'date-time' },
        lastError: { type: 'string' },
        retryAt: { type: 'string', format: 'date-time' },
        deadLetteredDeliveries: { type: 'integer', minimum: 0 },
      },
    },
  },
} as const;

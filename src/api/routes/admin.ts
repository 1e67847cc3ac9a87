import type { FastifyInstance } from 'fastify';
import { peekDeadLetters, redriveDeadLetters } from '../../control/dead-letters.ts';
import { issueApiKey, onboardTenant, type TenantPatch, updateTenant } from '../../control/tenants.ts';
import { mintUserToken } from '../../control/tokens.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { parseTenantId } from '../../core/ids.ts';
import type { Role } from '../../core/principal.ts';
import { DEFAULT_PLAN, PLANS } from '../../core/tenant.ts';
import { DEFAULT_TOKEN_LIFETIMES } from '../../core/token-lifetime.ts';
import {
  checkWebhookUrl,
  STRICT_WEBHOOK_POLICY,
  type WebhookTargetPolicy,
} from '../../core/webhook-target.ts';
import { listModels } from '../../models/registry.ts';
import { deadLetterQueueName } from '../../ports/message-queue.ts';
import type { AppDeps } from '../deps.ts';

const tenantBody = {
  type: 'object',
  required: ['id', 'name'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    placement: { type: 'string', enum: ['shared', 'dedicated'] },
    region: {
      type: 'string',
      maxLength: 40,
      description: 'The AWS Region its contract names (data residency); dedicated placement only',
    },
    plan: { type: 'string', enum: [...PLANS], default: DEFAULT_PLAN },
    config: {
      type: 'object',
      description: 'Tenant settings; checked by the settings schema (400 naming each field)',
    },
  },
} as const;

/**
 * A webhook an operator sets in a tenant's config meets the same target rule as one a tenant registers
 * (`PUT /v1/settings/webhook`): the rule depends on this server's policy, so it is checked here, where
 * the policy is known, not in the pure settings schema (which would refuse stored allowlisted targets).
 * Throws `ValidationError` naming `/body/config/webhook/url`.
 */
function checkConfigWebhook(config: unknown, policy: WebhookTargetPolicy): void {
  const webhook = (config as { webhook?: unknown } | undefined)?.webhook;
  const url = (webhook as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') return;
  const target = checkWebhookUrl(url, policy);
  if (!target.ok) {
    throw new ValidationError([
      { path: '/body/config/webhook/url', message: target.reason, rule: `webhook_${target.kind}` },
    ]);
  }
}

export function adminRoutes(app: FastifyInstance, deps: AppDeps): void {
  const webhookPolicy = deps.webhookPolicy ?? STRICT_WEBHOOK_POLICY;
  const control = {
    directory: deps.directory,
    queue: deps.queue,
    stores: deps.stores,
    ...(deps.queueSettings ? { queueSettings: deps.queueSettings } : {}),
    ...(deps.infrastructure ? { infrastructure: deps.infrastructure } : {}),
    ...(deps.regions ? { regions: deps.regions } : {}),
    // A tier patched is recorded as a plan change (control/plan-catalogue.ts `recordTierChange`).
    ...(deps.billing ? { billing: deps.billing.billing } : {}),
  };
  app.get<{ Querystring: { cursor?: string; limit?: number } }>(
    '/v1/admin/tenants',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            cursor: { type: 'string', maxLength: 2048 },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
          },
        },
      },
    },
    async (request) => {
      const page = await deps.directory.list({
        limit: request.query.limit ?? 100,
        ...(request.query.cursor ? { cursor: request.query.cursor } : {}),
      });
      return {
        items: page.items.map(tenantView),
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    },
  );

  app.post<{
    Body: {
      id: string;
      name: string;
      placement?: 'shared' | 'dedicated';
      plan?: 'free' | 'standard' | 'enterprise';
      config?: Record<string, unknown>;
    };
  }>(
    '/v1/admin/tenants',
    {
      config: { audience: 'operator' },
      schema: { tags: ['admin'], summary: 'Onboard a tenant; the API key is shown once', body: tenantBody },
    },
    async (request, reply) => {
      checkConfigWebhook(request.body.config, webhookPolicy);
      const onboardMoving = deps.control?.onboardMoving;
      const onboardDedicated = deps.control?.onboardDedicated;
      const { tenant, apiKey, operation } = await onboardTenant(control, request.body as never, {
        ...(onboardMoving ? { onboardMoving } : {}),
        ...(onboardDedicated ? { onboardDedicated } : {}),
        ...(deps.control?.tenantChanged ? { tenantChanged: deps.control.tenantChanged } : {}),
      });
      // An id onboarded again is another customer: its endpoint starts healthy, whatever its predecessor's did,
      // and it has no figures yet (they were dropped only once a scrape or a sample saw the id gone).
      deps.resetWebhookEndpoint?.(tenant);
      deps.metrics?.forget(tenant.id);
      return reply
        .code(201)
        .header('location', `/v1/admin/tenants/${tenant.id}`)
        .send({
          tenant: tenantView(tenant),
          apiKey,
          ...(operation
            ? { operation: { id: operation.id, url: `/v1/admin/operations/${operation.id}` } }
            : {}),
        });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id',
    { config: { audience: 'operator' }, schema: { tags: ['admin'] } },
    async (request) => {
      const tenant = await deps.directory.get(parseTenantId(request.params.id, '/params/id'));
      if (!tenant) throw new NotFoundError(`Tenant "${request.params.id}"`);
      return tenantView(tenant);
    },
  );

  app.patch<{ Params: { id: string }; Body: TenantPatch }>(
    '/v1/admin/tenants/:id',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string' },
            status: { type: 'string', enum: ['active', 'suspended'] },
            plan: { type: 'string', enum: ['free', 'standard', 'enterprise'] },
            config: { type: 'object' },
          },
        },
      },
    },
    async (request, reply) => {
      const id = parseTenantId(request.params.id, '/params/id');
      checkConfigWebhook(request.body.config, webhookPolicy);
      const tenant = await updateTenant(control, id, request.body);
      // A webhook the operator sets is a new endpoint, as one the tenant sets (`PUT /v1/settings/webhook`).
      if (request.body.config?.webhook !== undefined) deps.resetWebhookEndpoint?.(tenant);
      await deps.control?.tenantChanged?.(id);
      // New function settings of a dedicated tenant on AWS update its stack: an operation to follow.
      const op = request.body.config?.function ? await deps.control?.applySettings?.(id) : undefined;
      if (op) reply.header('operation-location', `/v1/admin/operations/${op.id}`);
      return tenantView(tenant);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/admin/tenants/:id/api-keys',
    {
      config: { audience: 'operator' },
      schema: { tags: ['admin'], summary: 'Issue another API key (shown once)' },
    },
    async (request, reply) => {
      const { apiKey } = await issueApiKey(control, parseTenantId(request.params.id, '/params/id'));
      return reply.code(201).send({ apiKey });
    },
  );

  app.post<{ Body: { tenants: string[]; user: string; roles?: Role[]; expiresIn?: string } }>(
    '/v1/admin/tokens',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Mint a user token from the embedded issuer',
        body: {
          type: 'object',
          required: ['tenants', 'user'],
          additionalProperties: false,
          properties: {
            tenants: { type: 'array', items: { type: 'string' }, maxItems: 100 },
            user: { type: 'string', minLength: 1, maxLength: 200 },
            roles: { type: 'array', items: { type: 'string', enum: ['operator', 'user', 'metrics'] } },
            // Form and range (1s to SILOPOOL_TOKEN_MAX_LIFETIME) are checked by `chooseLifetime`, whose
            // message names the allowed range.
            expiresIn: { type: 'string', maxLength: 20, description: 'like 15m or 12h; 1s to the maximum' },
          },
        },
      },
    },
    async (request) => {
      if (!deps.issuer)
        throw new NotFoundError('The embedded token issuer (this server uses an external one)');
      const lifetimes = deps.tokenLifetimes ?? DEFAULT_TOKEN_LIFETIMES;
      return mintUserToken({ directory: deps.directory, issuer: deps.issuer, lifetimes }, request.body);
    },
  );

  app.get(
    '/v1/admin/queues',
    {
      config: { audience: 'operator' },
      schema: { tags: ['admin'], summary: 'Queue depths and dead letters' },
    },
    async () => {
      const names = (await deps.queue.listQueues()).filter((q) => !q.endsWith('-dlq'));
      const items = await Promise.all(
        names.map(async (queue) => {
          const [depth, dead] = await Promise.all([
            deps.queue.depth(queue),
            deps.queue
              .depth(deadLetterQueueName(queue))
              .catch(() => ({ visible: 0, inFlight: 0, delayed: 0 })),
          ]);
          return { queue, ...depth, deadLetters: dead.visible + dead.inFlight + dead.delayed };
        }),
      );
      return { items };
    },
  );

  app.get<{ Querystring: { queue: string } }>(
    '/v1/admin/dead-letters',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        querystring: {
          type: 'object',
          required: ['queue'],
          additionalProperties: false,
          properties: { queue: { type: 'string', maxLength: 128 } },
        },
      },
    },
    async (request) => ({ items: await peekDeadLetters(deps.queue, await knownQueue(request.query.queue)) }),
  );

  app.post<{ Body: { queue: string } }>(
    '/v1/admin/dead-letters/redrive',
    {
      config: { audience: 'operator' },
      schema: {
        tags: ['admin'],
        body: {
          type: 'object',
          required: ['queue'],
          additionalProperties: false,
          properties: { queue: { type: 'string', maxLength: 128 } },
        },
      },
    },
    async (request) => redriveDeadLetters(control, await knownQueue(request.body.queue)),
  );

  app.get(
    '/v1/admin/models',
    { config: { audience: 'operator' }, schema: { tags: ['admin'] } },
    async () => ({
      items: listModels().map((m) => ({ name: m.name, version: m.version, title: m.title })),
    }),
  );

  async function knownQueue(name: string): Promise<string> {
    const queues = await deps.queue.listQueues();
    if (!queues.includes(name) || name.endsWith('-dlq')) {
      throw new ValidationError([{ path: '/queue', message: `is not a known queue: ${name}`, rule: 'enum' }]);
    }
    return name;
  }
}

/** Tenant JSON for operators: API key hashes never leave the server. */
export function tenantView(tenant: import('../../core/tenant.ts').Tenant) {
  const { apiKeys, config, ...rest } = tenant;
  const { webhook, ...publicConfig } = config;
  return {
    ...rest,
    config: { ...publicConfig, ...(webhook ? { webhook: { url: webhook.url } } : {}) },
    apiKeys: apiKeys.map((k) => ({ id: k.id, createdAt: k.createdAt })),
  };
}

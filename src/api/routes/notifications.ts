import type { FastifyInstance, FastifyRequest } from 'fastify';
import { retryOnConflict } from '../../control/conflicts.ts';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from '../../core/errors.ts';
import {
  checkVerificationCode,
  isEmailAddress,
  MAX_CODE_ATTEMPTS,
  MAX_PUSH_SUBSCRIPTIONS,
  newVerificationCode,
  subscriptionId,
  type UserNotifications,
  VERIFICATION_CODE_TTL_MS,
  VERIFICATION_RESEND_MS,
} from '../../core/notifications.ts';
import type { Tenant } from '../../core/tenant.ts';
import { checkWebhookUrl, STRICT_WEBHOOK_POLICY } from '../../core/webhook-target.ts';
import { verificationEmail } from '../../functions/notification-channels.ts';
import {
  readUserNotifications,
  renewAccess,
  writeUserNotifications,
} from '../../functions/notification-preferences.ts';
import { authenticate, tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';

const TAGS = ['notifications'];
const BASE = '/v1/me/notifications';

/**
 * The caller's own notification settings in the tenant `x-tenant-id` selects. Only a user's token reaches
 * them (an API key is not a user); the settings are keyed by the token's subject inside the tenant's own
 * objects, so no route can read or change another user's or another tenant's. An email address receives
 * job notifications only after its owner enters the code mailed to it.
 */
/** Stores a user's settings (and marks the tenant at a first opt-in). */
type StoreSettings = (next: UserNotifications) => Promise<void>;

export function notificationRoutes(app: FastifyInstance, deps: AppDeps): void {
  const offer = deps.notifications ?? {};
  const policy = deps.webhookPolicy ?? STRICT_WEBHOOK_POLICY;

  const running = new Map<string, Promise<unknown>>();

  /**
   * Runs `act` on the caller's settings, one request per user at a time. Each request reads, checks and
   * writes the settings back: run side by side, a burst would all read the same settings and pass the same
   * checks (one code a minute, 5 tries a code) once each. In this process; on AWS each API function
   * instance serves one request at a time, and the checks hold per instance.
   */
  async function mine<T>(
    request: FastifyRequest,
    act: (user: { tenant: Tenant; store: StoreSettings; settings: UserNotifications }) => Promise<T>,
  ): Promise<T> {
    const principal = await authenticate(deps, request);
    if (principal.via !== 'jwt') {
      throw new ForbiddenError(
        'Notification settings belong to a user: sign in with a user token, not a tenant API key.',
      );
    }
    const { tenant, data } = await tenantContext(deps, request);
    const key = `${tenant.id}\0${principal.subject}`;
    /**
     * Writes the user's settings. The tenant is marked as one whose finished jobs are announced for user
     * notifications first (once, when a user first opts in): until then its jobs skip that announcement.
     */
    const store: StoreSettings = async (next) => {
      if (!tenant.notifiesUsers && (next.optIn.email || next.optIn.push))
        await retryOnConflict(async () => {
          const t = await deps.directory.get(tenant.id);
          if (!t) throw new NotFoundError(`Tenant "${tenant.id}"`);
          return deps.directory.update(
            { ...t, notifiesUsers: true, version: t.version + 1, updatedAt: new Date().toISOString() },
            t.version,
          );
        });
      // Notifications go only while the user's access lasts: this token's life, renewed by later requests.
      if (principal.expiresAtMs !== undefined)
        await renewAccess(data.objects, principal.subject, principal.expiresAtMs, tenant.incarnation);
      await writeUserNotifications(data.objects, next);
    };
    const run = async () =>
      act({ tenant, store, settings: await readUserNotifications(data.objects, principal.subject) });
    const result = (running.get(key) ?? Promise.resolve()).then(run, run);
    const settled = result.catch(() => undefined);
    running.set(key, settled);
    void settled.then(() => {
      if (running.get(key) === settled) running.delete(key);
    });
    return result;
  }

  async function save(store: StoreSettings, settings: UserNotifications) {
    await store(settings);
    return view(settings);
  }

  function view(settings: UserNotifications) {
    const email = settings.email;
    return {
      channels: {
        email: offer.mailer !== undefined,
        push: offer.vapidPublicKey ? { vapidPublicKey: offer.vapidPublicKey } : null,
      },
      optIn: settings.optIn,
      email: email
        ? {
            address: email.address,
            verified: email.verified,
            pending: !email.verified && email.codeSha256 !== undefined,
          }
        : null,
      push: settings.push.map((s) => ({
        id: s.id,
        origin: new URL(s.endpoint).origin,
        createdAt: s.createdAt,
      })),
    };
  }

  app.get(
    BASE,
    {
      config: { audience: 'tenant' },
      schema: {
        tags: TAGS,
        summary: "The caller's notification settings in this tenant, and the channels the platform offers",
      },
    },
    async (request) => mine(request, async ({ settings }) => view(settings)),
  );

  app.patch<{ Body: { optIn: { email?: boolean; push?: boolean } } }>(
    BASE,
    {
      config: { audience: 'tenant' },
      schema: {
        tags: TAGS,
        summary: 'Turn job notifications on or off per channel',
        description:
          'Email reaches the caller only at a verified address; Web Push only browsers subscribed with ' +
          '`POST /v1/me/notifications/push`.',
        body: {
          type: 'object',
          required: ['optIn'],
          additionalProperties: false,
          properties: {
            optIn: {
              type: 'object',
              additionalProperties: false,
              properties: { email: { type: 'boolean' }, push: { type: 'boolean' } },
            },
          },
        },
      },
    },
    async (request) =>
      mine(request, ({ store, settings }) =>
        save(store, { ...settings, optIn: { ...settings.optIn, ...request.body.optIn } }),
      ),
  );

  app.put<{ Body: { address: string } }>(
    `${BASE}/email`,
    {
      config: { audience: 'tenant' },
      schema: {
        tags: TAGS,
        summary: 'Set the address for job emails; a verification code is mailed to it',
        description:
          'The address receives nothing but the code until the code is entered ' +
          '(`POST /v1/me/notifications/email/verify`). At most one code a minute (429); 409 ' +
          '`channel_not_offered` when the platform has no SMTP server; 503 when the SMTP server fails.',
        body: {
          type: 'object',
          required: ['address'],
          additionalProperties: false,
          properties: { address: { type: 'string', maxLength: 254 } },
        },
      },
    },
    async (request, reply) => {
      return mine(request, async ({ tenant, store, settings }) => {
        const address = request.body.address.trim();
        if (!isEmailAddress(address)) {
          throw new ValidationError([
            { path: '/body/address', message: 'must be an email address', rule: 'format' },
          ]);
        }
        // Neither the caller's mistake nor an outage: this platform is set up without email.
        if (!offer.mailer) {
          throw new ConflictError(
            'This platform sends no email: it has no SMTP server set.',
            'channel_not_offered',
          );
        }
        const now = Date.now();
        const sentAt = settings.email?.codeSentAt ? Date.parse(settings.email.codeSentAt) : 0;
        if (now - sentAt < VERIFICATION_RESEND_MS) {
          const wait = Math.ceil((VERIFICATION_RESEND_MS - (now - sentAt)) / 1000);
          throw new RateLimitedError(`A code was sent less than a minute ago; ask again in ${wait} s.`, wait);
        }
        const { code, sha256 } = newVerificationCode();
        const next: UserNotifications = {
          ...settings,
          email: {
            address,
            verified: false,
            codeSha256: sha256,
            codeExpiresAt: new Date(now + VERIFICATION_CODE_TTL_MS).toISOString(),
            codeSentAt: new Date(now).toISOString(),
            codeAttempts: 0,
          },
        };
        // Stored first: a code that went out always matches what is stored.
        await store(next);
        await offer.mailer.send(verificationEmail(address, tenant.id, code)).catch((error: unknown) => {
          throw new UnavailableError('The verification email could not be sent; try again later.', {
            cause: error,
          });
        });
        return reply.code(202).send(view(next));
      });
    },
  );

  app.post<{ Body: { code: string } }>(
    `${BASE}/email/verify`,
    {
      config: { audience: 'tenant' },
      schema: {
        tags: TAGS,
        summary: 'Enter the code mailed to the address: it then receives job emails',
        body: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: { code: { type: 'string', maxLength: 16 } },
        },
      },
    },
    async (request) => {
      return mine(request, async ({ store, settings }) => {
        const email = settings.email;
        const check = checkVerificationCode(email, request.body.code, Date.now());
        if (!email || check === 'none') {
          throw new ConflictError('No code is pending: set an address first.', 'no_verification_pending');
        }
        if (check === 'expired') {
          throw new ConflictError(
            `The code expired or was entered wrong ${MAX_CODE_ATTEMPTS} times: set the address again for a new one.`,
            'verification_expired',
          );
        }
        if (check === 'wrong') {
          await store({
            ...settings,
            email: { ...email, codeAttempts: (email.codeAttempts ?? 0) + 1 },
          });
          throw new ValidationError([
            { path: '/body/code', message: 'is not the code that was sent', rule: 'code' },
          ]);
        }
        const { codeSha256: _c, codeExpiresAt: _e, codeAttempts: _a, ...rest } = email;
        return save(store, { ...settings, email: { ...rest, verified: true } });
      });
    },
  );

  app.delete(
    `${BASE}/email`,
    { config: { audience: 'tenant' }, schema: { tags: TAGS, summary: 'Forget the email address' } },
    async (request, reply) => {
      return mine(request, async ({ store, settings }) => {
        const { email: _old, ...rest } = settings;
        await store({ ...rest, optIn: { ...settings.optIn, email: false } });
        return reply.code(204).send();
      });
    },
  );

  app.post<{ Body: { endpoint: string; keys: { p256dh: string; auth: string } } }>(
    `${BASE}/push`,
    {
      config: { audience: 'tenant' },
      schema: {
        tags: TAGS,
        summary: "Store this browser's push subscription (PushSubscription.toJSON())",
        description:
          'The endpoint must be a URL webhooks could point at (https to a public host unless the operator ' +
          'allows more). Subscribing the same endpoint again replaces it. At most 10 per user.',
        body: {
          type: 'object',
          required: ['endpoint', 'keys'],
          properties: {
            endpoint: { type: 'string', maxLength: 2048 },
            expirationTime: { type: ['number', 'null'] },
            keys: {
              type: 'object',
              required: ['p256dh', 'auth'],
              properties: {
                p256dh: { type: 'string', pattern: '^[A-Za-z0-9_-]{80,100}={0,2}$' },
                auth: { type: 'string', pattern: '^[A-Za-z0-9_-]{16,24}={0,2}$' },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      return mine(request, async ({ store, settings }) => {
        if (!offer.vapidPublicKey) {
          throw new ConflictError('This platform sends no Web Push.', 'channel_not_offered');
        }
        const target = checkWebhookUrl(request.body.endpoint, policy);
        if (!target.ok) {
          throw new ValidationError([
            { path: '/body/endpoint', message: target.reason, rule: `push_${target.kind}` },
          ]);
        }
        const id = subscriptionId(request.body.endpoint);
        const others = settings.push.filter((s) => s.id !== id);
        if (others.length >= MAX_PUSH_SUBSCRIPTIONS) {
          throw new ConflictError(
            `At most ${MAX_PUSH_SUBSCRIPTIONS} browsers per user: remove one first.`,
            'too_many_subscriptions',
          );
        }
        const { p256dh, auth } = request.body.keys;
        const record = {
          id,
          endpoint: request.body.endpoint,
          keys: { p256dh, auth },
          createdAt: new Date().toISOString(),
        };
        return reply.code(201).send(await save(store, { ...settings, push: [...others, record] }));
      });
    },
  );

  app.delete<{ Params: { id: string } }>(
    `${BASE}/push/:id`,
    {
      config: { audience: 'tenant' },
      schema: {
        tags: TAGS,
        summary: 'Remove a push subscription',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } },
        },
      },
    },
    async (request, reply) => {
      return mine(request, async ({ store, settings }) => {
        if (!settings.push.some((s) => s.id === request.params.id))
          throw new NotFoundError('This subscription');
        await store({
          ...settings,
          push: settings.push.filter((s) => s.id !== request.params.id),
        });
        return reply.code(204).send();
      });
    },
  );
}

import { createHash, randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import { getModel } from '../src/models/registry.ts';
import { addFormats } from '../src/models/rules.ts';

/**
 * The submit route a user would write by hand, shared by the peer (bench/peer.ts) and the durable floor
 * (bench/floor.ts): an API key checked by its SHA-256, the finance model's JSON Schema (Silopool's Ajv
 * options) and checks, then `enqueue`, answered 202 `{ id, status: 'queued' }`; 401 / 400 otherwise.
 * Returns the Fastify app (not listening yet) and the one API key it accepts, for `tenantId`.
 */
export function plainSubmitApp(
  tenantId: string,
  enqueue: (tenantId: string, input: unknown) => Promise<string> | string,
): { app: FastifyInstance; apiKey: string } {
  const apiKey = `sk_${randomUUID()}`;
  const keys = new Map([[createHash('sha256').update(apiKey).digest('hex'), tenantId]]);
  const model = getModel('finance');
  const validate = addFormats(
    new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false }),
  ).compile(model.inputSchema);
  const app = Fastify({ logger: false });
  app.post('/v1/models/finance/jobs', async (request, reply) => {
    const key = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
    const owner = keys.get(createHash('sha256').update(key).digest('hex'));
    if (!owner) return reply.code(401).send({ title: 'Unauthorized' });
    const { input } = request.body as { input: unknown };
    if (!validate(input)) return reply.code(400).send({ errors: validate.errors });
    const problems = model.check(input as never);
    if (problems.length > 0) return reply.code(400).send({ errors: problems });
    const id = await enqueue(owner, input);
    return reply.code(202).send({ id, status: 'queued' });
  });
  return { app, apiKey };
}

import type { FastifyInstance } from 'fastify';
import { submitJob } from '../../control/submit-job.ts';
import { requireValidSettings } from '../../control/tenant-config.ts';
import { type FieldProblem, ValidationError } from '../../core/errors.ts';
import { jobView } from '../../core/job-view.ts';
import { jobLimitsFor, type Tenant } from '../../core/tenant.ts';
import { modelForSubmit, variantsFor } from '../../models/model-selection.ts';
import { listModels } from '../../models/registry.ts';
import { resolveInput, schemaForTenant } from '../../models/rules.ts';
import { inputPointer } from '../../models/schema-paths.ts';
import { tenantRules } from '../../models/tenant-rules.ts';
import type { ModelDefinition } from '../../models/types.ts';
import { traceSubmit } from '../../observability/submit-tracing.ts';
import { createSequencedJobIntake } from '../../ports/job-intake-sequence.ts';
import { tenantContext } from '../context.ts';
import type { AppDeps } from '../deps.ts';
import { idempotencyKeyHeaders, idempotencyKeyOf } from '../idempotency-key.ts';
import { jobViewSchema } from '../job-schema.ts';

export function modelRoutes(app: FastifyInstance, deps: AppDeps): void {
  const intake = deps.intake ?? createSequencedJobIntake(deps);
  app.get(
    '/v1/models',
    {
      config: { audience: 'tenant' },
      schema: { tags: ['models'], summary: "Models with this tenant's input schema" },
    },
    async (request) => {
      const { tenant } = await tenantContext(deps, request);
      requireValidSettings(tenant);
      // The tenant's own variants are listed while it is dedicated: only its own lanes run them.
      const variants =
        tenant.placement === 'dedicated' && deps.releases ? await variantsFor(deps.releases, tenant) : [];
      return {
        items: [
          ...listModels().map((model) => modelView(tenant, model)),
          ...variants.map((v) => ({
            ...modelView(tenant, v.definition),
            name: v.name,
            variantOf: v.definition.name,
          })),
        ],
      };
    },
  );

  app.get<{ Params: { model: string } }>(
    '/v1/models/:model',
    {
      config: { audience: 'tenant' },
      schema: { tags: ['models'], summary: "One model with this tenant's input schema" },
    },
    async (request) => {
      const { tenant } = await tenantContext(deps, request);
      requireValidSettings(tenant);
      const found = await modelForSubmit(deps.releases, tenant, request.params.model);
      return {
        ...modelView(tenant, found.definition),
        version: found.version,
        ...(found.variant ? { name: found.variant, variantOf: found.model } : {}),
      };
    },
  );

  app.post<{ Params: { model: string }; Body: unknown }>(
    '/v1/models/:model/jobs',
    {
      config: { audience: 'tenant' },
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job; 202 once it is durably queued',
        headers: idempotencyKeyHeaders,
        // Fields outside `input` are refused, not ignored: `{"revenue": 5e6}` would run on defaults.
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            input: { description: "The model's input, as GET /v1/models/{model} describes it" },
            priority: { description: 'Integer 0-9; higher runs first among this tenant’s jobs' },
          },
        },
        response: { 202: jobViewSchema },
      },
    },
    async (request, reply) => {
      const context = await tenantContext(deps, request);
      requireValidSettings(context.tenant);
      // A model, or the tenant's own variant; another tenant's variant is the same 404 as no model.
      const chosen = await modelForSubmit(deps.releases, context.tenant, request.params.model);
      const body = request.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ValidationError([
          { path: '', message: 'must be a JSON object like {"input": {...}}', rule: 'type' },
        ]);
      }
      const { input = {}, priority } = body as { input?: unknown; priority?: unknown };
      const problems: FieldProblem[] = [];
      if (
        priority !== undefined &&
        (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > 9)
      ) {
        problems.push({ path: '/priority', message: 'must be an integer from 0 to 9', rule: 'range' });
      }
      const { key: idempotencyKey, problem: keyProblem } = idempotencyKeyOf(request);
      if (keyProblem) problems.push(keyProblem);
      if (problems.length > 0) {
        // One answer names every bad field, the input's too: not only once the request's own are fixed.
        const model = chosen.definition;
        try {
          resolveInput(model, tenantRules(model, context.tenant.config), input);
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          problems.push(...error.problems);
        }
        throw new ValidationError(problems);
      }
      // Traced around the use case: the span, the story's first steps and the message's trace context.
      const { admitted, job, created, warnings } = await traceSubmit(intake, context, async (traced) => {
        const admitted = (await deps.control?.admitSubmit?.(context.tenant)) ?? {};
        const submitted = await submitJob(traced, {
          ...context,
          model: request.params.model,
          ...(deps.releases ? { releases: deps.releases } : {}),
          chosen,
          input,
          ...(typeof priority === 'number' ? { priority } : {}),
          ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        }).finally(() => deps.control?.submitSettled?.(context.tenant));
        return { ...submitted, admitted };
      });
      request.log.info({ jobId: job.id, model: job.model, created }, 'job submitted');
      reply.headers(admitted);
      const view = jobView(job);
      return (
        reply
          .code(202)
          .header('location', `/v1/jobs/${job.id}`)
          .header('idempotent-replayed', String(!created))
          // A replayed job recorded before warnings were kept has none of its own: this request's are the same input's.
          .send(view.warnings.length > 0 ? view : { ...view, warnings })
      );
    },
  );
}

/**
 * What one job of `model` may take for this tenant: `maxJobCost` (cost units; a larger job is refused with
 * 422 `cost_limit_exceeded`), the input fields the cost comes from, and `jobTimeoutSec` on shared functions.
 */
function limitsView(tenant: Pick<Tenant, 'plan' | 'config'>, model: ModelDefinition) {
  const { maxJobCost, jobTimeoutSec } = jobLimitsFor(tenant, model.name);
  return { maxJobCost, costFields: model.costFields.map(inputPointer), jobTimeoutSec };
}

function modelView(tenant: Tenant, model: ModelDefinition) {
  return {
    name: model.name,
    version: model.version,
    title: model.title,
    description: model.description,
    inputSchema: schemaForTenant(model, tenantRules(model, tenant.config)),
    limits: limitsView(tenant, model),
    summaryUnits: model.summaryUnits ?? {},
  };
}

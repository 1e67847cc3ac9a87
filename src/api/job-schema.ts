/**
 * The job as the API returns it (see `core/job-view.ts`), for the OpenAPI document and the response
 * serialiser. Only the fields clients rely on by name are spelled out; `additionalProperties` keeps every
 * other field of the view as it is, so the schema documents without ever dropping data.
 */
const warning = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: {
      type: 'string',
      description: 'Stable code, e.g. `rate_implausible`, `terminal_value_share_high`',
    },
    message: { type: 'string' },
    path: { type: 'string', description: 'The input field it is about, e.g. `/input/discountRate`' },
    figure: { type: 'string', description: 'The result figure it is about, e.g. `enterpriseValue`' },
  },
} as const;

export const jobViewSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'model', 'status', 'warnings'],
  properties: {
    id: { type: 'string' },
    tenantId: { type: 'string' },
    model: { type: 'string' },
    modelVersion: { type: 'string' },
    modelVariant: { type: 'string', description: "The tenant's own variant of the model it ran on" },
    release: { type: 'string', description: 'The release whose code ran the job' },
    status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
    warnings: {
      type: 'array',
      description:
        'Figures that are right but may mislead, and inputs that look mistyped (a rate of 5 meaning 5 %). ' +
        "Before the run: the input's plausibility warnings; after it: the result's, which include them. " +
        'Rates in `input` and `summary` are fractions (0.05 is 5 %).',
      items: warning,
    },
    progress: {
      type: 'object',
      description:
        'While the job runs, how far the model got, for models that report it (the funds Monte Carlo: ' +
        'paths done of all paths); updated at most every 250 ms, also sent as SSE `progress` events.',
      required: ['done', 'total', 'unit'],
      properties: {
        done: { type: 'integer' },
        total: { type: 'integer' },
        unit: { type: 'string' },
        at: { type: 'string', format: 'date-time', description: 'When this progress was recorded.' },
      },
    },
  },
} as const;

import { SpanKind } from '@opentelemetry/api';
import type { JobRecord } from '../core/job.ts';
import { storyWith } from '../core/job-story.ts';
import { decodeJobMessage } from '../core/messages.ts';
import type { Tenant } from '../core/tenant.ts';
import type { MessageQueue, SendMessage } from '../ports/message-queue.ts';
import type { TenantData } from '../ports/stores.ts';
import { JOB_ID_ATTR, TENANT_ID_ATTR } from './attributes.ts';
import { activeTraceId, inSpan, jobContext, traceAttributes, withTraceContext } from './spans.ts';

/**
 * Runs a submit (admission, record, enqueue) in a `job.submit` span, around the submit use case rather than
 * inside it: the job store it is given writes the first steps of the job's story (submitted, admitted,
 * queued) and the trace id into the new record, and the queue it is given adds the trace context to the
 * message's attributes, where the function picks it up. Everything else passes through unchanged.
 */
export function traceSubmit<T>(
  queue: MessageQueue,
  context: { tenant: Pick<Tenant, 'id'>; data: TenantData },
  submit: (queue: MessageQueue, data: TenantData) => Promise<T>,
): Promise<T> {
  const submittedAt = new Date().toISOString();
  const tenantId = context.tenant.id;
  return inSpan(
    'job.submit',
    (span) => {
      const jobs = override(context.data.jobs, {
        create: (job: JobRecord) => {
          span.setAttribute(JOB_ID_ATTR, job.id);
          // Admission (limits, cost) passed before the record was made: `createdAt` is its time too.
          const admittedAt = job.createdAt;
          const traceId = activeTraceId();
          const { traceparent } = traceAttributes();
          const story = storyWith(
            job,
            [
              { step: 'submitted', at: submittedAt },
              { step: 'admitted', at: admittedAt },
              { step: 'queued', at: job.createdAt },
            ],
            [{ at: admittedAt, level: 'info', message: 'job accepted', fields: { model: job.model } }],
          ).story;
          return inSpan('jobstore.create', () =>
            context.data.jobs.create({
              ...job,
              story: { ...story, ...(traceId ? { traceId } : {}), ...(traceparent ? { traceparent } : {}) },
            }),
          );
        },
      });
      const traced = override(queue, {
        send: (name: string, message: SendMessage) => {
          const jobId = decodeJobMessage(message.body)?.jobId;
          return inSpan('queue.send', () => queue.send(name, withTraceContext(message)), {
            kind: SpanKind.PRODUCER,
            parent: jobContext(tenantId, jobId),
            attributes: { 'messaging.destination.name': name, 'messaging.system': 'aws_sqs' },
          });
        },
      });
      return submit(traced, { ...context.data, jobs });
    },
    { kind: SpanKind.SERVER, parent: jobContext(tenantId), attributes: { [TENANT_ID_ATTR]: tenantId } },
  );
}

/** `target` with some methods replaced; the others keep working on the original object. */
function override<T extends object>(target: T, methods: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      if (Object.hasOwn(methods, key)) return methods[key as keyof T];
      const value = Reflect.get(t, key, receiver);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

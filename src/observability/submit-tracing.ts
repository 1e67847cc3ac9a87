import { SpanKind } from '@opentelemetry/api';
import { storyWith } from '../core/job-story.ts';
import { decodeJobMessage } from '../core/messages.ts';
import type { Tenant } from '../core/tenant.ts';
import type { JobIntake } from '../ports/job-intake.ts';
import { JOB_ID_ATTR, TENANT_ID_ATTR } from './attributes.ts';
import { activeTraceId, inSpan, jobContext, traceAttributes, withTraceContext } from './spans.ts';

/**
 * Runs a submit (admission, record, enqueue) in a `job.submit` span, around the submit use case rather than
 * inside it: the intake it is given writes the first steps of the job's story (submitted, admitted,
 * queued) and the trace id into the new record, and adds the trace context to the message's attributes,
 * where the function picks it up. Everything else passes through unchanged.
 */
export function traceSubmit<T>(
  intake: JobIntake,
  context: { tenant: Pick<Tenant, 'id'> },
  submit: (intake: JobIntake) => Promise<T>,
): Promise<T> {
  const submittedAt = new Date().toISOString();
  const tenantId = context.tenant.id;
  return inSpan(
    'job.submit',
    (span) => {
      const traced: JobIntake = {
        submit: (tenant, submission) => {
          const job = submission.job;
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
          const storied = {
            ...job,
            story: { ...story, ...(traceId ? { traceId } : {}), ...(traceparent ? { traceparent } : {}) },
          };
          // One commit holds the record and its message (the intake): one span for both.
          return inSpan(
            'job.intake',
            () =>
              intake.submit(tenant, {
                ...submission,
                job: storied,
                message: withTraceContext(submission.message),
              }),
            {
              kind: SpanKind.PRODUCER,
              parent: jobContext(tenantId, job.id),
              attributes: { 'messaging.destination.name': submission.queue, 'messaging.system': 'aws_sqs' },
            },
          );
        },
        requeue: (tenant, queue, message) => {
          const jobId = decodeJobMessage(message.body)?.jobId;
          return inSpan('queue.send', () => intake.requeue(tenant, queue, withTraceContext(message)), {
            kind: SpanKind.PRODUCER,
            parent: jobContext(tenantId, jobId),
            attributes: { 'messaging.destination.name': queue, 'messaging.system': 'aws_sqs' },
          });
        },
      };
      return submit(traced);
    },
    { kind: SpanKind.SERVER, parent: jobContext(tenantId), attributes: { [TENANT_ID_ATTR]: tenantId } },
  );
}

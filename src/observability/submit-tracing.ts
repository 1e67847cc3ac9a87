import { type Span, SpanKind } from '@opentelemetry/api';
import { storyWith } from '../core/job-story.ts';
import { decodeJobMessage } from '../core/messages.ts';
import type { Tenant } from '../core/tenant.ts';
import type { JobIntake } from '../ports/job-intake.ts';
import type { SendMessage } from '../ports/message-queue.ts';
import { JOB_ID_ATTR, TENANT_ID_ATTR } from './attributes.ts';
import { contextOfSpan, endFailed, inSpan, spanTraceAttributes, tracer } from './spans.ts';

const MESSAGING = { 'messaging.system': 'aws_sqs' } as const;

/**
 * Runs a submit (admission, record, enqueue) in one `job.submit` span, around the submit use case rather
 * than inside it: the intake it is given writes the first steps of the job's story (submitted, admitted,
 * queued) and the trace id into the new record, and puts the span's `traceparent` on the message, where the
 * function picks it up (its `job.deliver` span is this span's child). The span's parent is given, never
 * the active context (the API process traces with `context: 'explicit'`), and it names its tenant and job
 * itself. Everything else passes through unchanged.
 */
export function traceSubmit<T>(
  intake: JobIntake,
  context: { tenant: Pick<Tenant, 'id'> },
  submit: (intake: JobIntake) => Promise<T>,
): Promise<T> {
  const submittedAt = new Date().toISOString();
  const tenantId = context.tenant.id;
  const span = tracer().startSpan('job.submit', {
    kind: SpanKind.SERVER,
    attributes: { [TENANT_ID_ATTR]: tenantId, ...MESSAGING },
  });
  // A span that does not record (no tracer provider) gives no trace context to keep or send.
  const carried = spanTraceAttributes(span);
  const traced: JobIntake = {
    submit: (tenant, submission) => {
      const job = submission.job;
      span.setAttributes({ [JOB_ID_ATTR]: job.id, 'messaging.destination.name': submission.queue });
      // Admission (limits, cost) passed before the record was made: `createdAt` is its time too.
      const admittedAt = job.createdAt;
      const story = storyWith(
        job,
        [
          { step: 'submitted', at: submittedAt },
          { step: 'admitted', at: admittedAt },
          { step: 'queued', at: job.createdAt },
        ],
        [{ at: admittedAt, level: 'info', message: 'job accepted', fields: { model: job.model } }],
      ).story;
      const trace = {
        ...(span.isRecording() ? { traceId: span.spanContext().traceId } : {}),
        ...(carried.traceparent ? { traceparent: carried.traceparent } : {}),
      };
      // One commit holds the record and its message (the intake): this span covers both.
      return intake.submit(tenant, {
        ...submission,
        job: { ...job, story: { ...story, ...trace } },
        message: withAttributes(submission.message, carried),
      });
    },
    requeue: (tenant, queue, message) => {
      const jobId = decodeJobMessage(message.body)?.jobId;
      const send = (sendSpan: Span) =>
        intake.requeue(tenant, queue, withAttributes(message, spanTraceAttributes(sendSpan)));
      return inSpan('queue.send', send, {
        kind: SpanKind.PRODUCER,
        parent: contextOfSpan(span),
        attributes: {
          [TENANT_ID_ATTR]: tenantId,
          ...(jobId ? { [JOB_ID_ATTR]: jobId } : {}),
          'messaging.destination.name': queue,
          ...MESSAGING,
        },
      });
    },
  };
  return submit(traced).then(
    (result) => {
      span.end();
      return result;
    },
    (error: unknown) => {
      endFailed(span, error);
      throw error;
    },
  );
}

function withAttributes(message: SendMessage, attributes: Record<string, string>): SendMessage {
  return attributes.traceparent
    ? { ...message, attributes: { ...message.attributes, ...attributes } }
    : message;
}

import { context, propagation, SpanKind } from '@opentelemetry/api';
import type { SQSRecord } from 'aws-lambda';
import { JOB_ID_ATTR, TENANT_ID_ATTR } from './attributes.ts';
import { contextOfRecord, inSpan, jobContext } from './spans.ts';

export { recordAttributes } from './spans.ts';

/**
 * One webhook POST in a `webhook.deliver` span (CLIENT) that continues the trace its message carried: the
 * job's trace ends at the tenant's endpoint. `attributes` are the message's (queue port or SQS record).
 */
export function traceWebhook<T>(attributes: Record<string, string>, post: () => Promise<T>): Promise<T> {
  return inSpan('webhook.deliver', post, {
    kind: SpanKind.CLIENT,
    parent: propagation.extract(context.active(), attributes),
  });
}

/**
 * Runs one delivery of a job message in a `job.deliver` span that continues the trace the message carried
 * (its `traceparent` attribute), so the submit in the API and the run in a function thread or process are
 * one trace. The queue's name and the delivery count go on the span.
 */
export function traceDelivery<T>(
  record: SQSRecord,
  job: { tenantId: string; jobId: string; lane: string },
  run: () => Promise<T>,
): Promise<T> {
  return inSpan('job.deliver', run, {
    kind: SpanKind.CONSUMER,
    parent: jobContext(job.tenantId, job.jobId, contextOfRecord(record)),
    attributes: {
      [TENANT_ID_ATTR]: job.tenantId,
      [JOB_ID_ATTR]: job.jobId,
      'messaging.system': 'aws_sqs',
      'messaging.destination.name': job.lane,
      'messaging.message.id': record.messageId,
      'silopool.receive_count': Number(record.attributes.ApproximateReceiveCount ?? '1'),
    },
  });
}

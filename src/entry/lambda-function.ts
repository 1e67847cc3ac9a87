import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { decodeJobMessage } from '../core/messages.ts';
import { createModelHandler } from '../functions/model-handler.ts';
import { startTracing } from '../observability/tracing.ts';
import { createAwsPorts } from './aws-wiring.ts';

const logger = new Logger({ serviceName: 'silopool-model' });
const metrics = new Metrics({ namespace: 'Silopool', serviceName: 'silopool-model' });
const processor = new BatchProcessor(EventType.SQS);
// Spans go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the collector layer; docs/aws.md).
const tracing = startTracing({ service: 'silopool-model' });

// Built once per execution environment, on the first event: cold start pays for it once.
const ports = createAwsPorts();
const runShared = createModelHandler({
  // Views without secrets: the model roles have no grant on the directory's own table.
  directory: ports.tenantViews,
  stores: ports.stores,
  queue: ports.queue,
  dataFor: ports.dataFor,
  ...(process.env.SILOPOOL_MAX_RECEIVES
    ? { maxReceiveCount: Number(process.env.SILOPOOL_MAX_RECEIVES) }
    : {}),
  log: (level, message, fields) => logger[level](message, fields),
});

/** One record through the shared handler, with per-tenant EMF metrics (dimension TenantId). */
async function processRecord(record: SQSRecord, context: Context): Promise<void> {
  const tenantId = decodeJobMessage(record.body)?.tenantId ?? 'unknown';
  const started = Date.now();
  const { batchItemFailures } = await runShared({ Records: [record] }, context);
  const failed = batchItemFailures.length > 0;
  const metric = metrics.singleMetric();
  metric.addDimension('TenantId', tenantId);
  metric.addMetric(failed ? 'JobFailures' : 'JobsProcessed', MetricUnit.Count, 1);
  metric.addMetric('JobDuration', MetricUnit.Milliseconds, Date.now() - started);
  if (failed)
    throw new Error(`Message ${record.messageId} of tenant ${tenantId} failed; SQS will redeliver it.`);
}

/** The model function behind an SQS event source with ReportBatchItemFailures. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    return await processPartialResponse(
      event,
      (record: SQSRecord) => processRecord(record, context),
      processor,
      {
        context,
      },
    );
  } finally {
    // Before the sandbox freezes: spans still buffered would otherwise leave only on a later event.
    await tracing.flush();
  }
}

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { decodeJobMessage } from '../core/messages.ts';
import { intSettingOf, settingOf } from '../core/settings.ts';
import { partialBatchResponse } from '../functions/batch-response.ts';
import { createJobHandler } from '../functions/model-handler.ts';
import { startTracing } from '../observability/tracing.ts';
import { createAwsPorts } from './aws-wiring.ts';
import { MAX_RECEIVES_RANGE } from './config.ts';
import { publishJobMetrics } from './job-metrics.ts';
import { lambdaMemoryMb } from './lambda-memory.ts';
import { announcesToUsers } from './notification-flag.ts';

const logger = new Logger({ serviceName: 'silopool-model' });
const metrics = new Metrics({ namespace: 'Silopool', serviceName: 'silopool-model' });
// Spans go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the collector layer; docs/aws.md).
const tracing = startTracing({ service: 'silopool-model' });

// Built once per execution environment, on the first event: cold start pays for it once.
const ports = createAwsPorts();
/** This function's configured memory, from the context of the event being handled (one at a time). */
let memoryMb = lambdaMemoryMb(undefined, process.env);
const runJob = createJobHandler({
  // Views without secrets: the model roles have no grant on the directory's own table.
  directory: ports.tenantViews,
  queue: ports.queue,
  // Finished jobs are announced on `system_notifications` where the platform delivers them (the CDK app).
  notifications: announcesToUsers(process.env),
  dataFor: ports.dataFor,
  // As the embedded server reads it: 0 dead-lettered every job before its first run, text was NaN.
  ...(settingOf(process.env, 'SILOPOOL_MAX_RECEIVES') !== undefined
    ? { maxReceiveCount: intSettingOf(process.env, 'SILOPOOL_MAX_RECEIVES', 4, MAX_RECEIVES_RANGE) }
    : {}),
  log: (level, message, fields) => logger[level](message, fields),
  // Recorded on each job it runs: compute is billed at the memory the Lambda actually had.
  memoryMb: () => memoryMb,
});

/** One record through the model function, with per-tenant EMF metrics (dimension TenantId). */
async function processRecord(record: SQSRecord): Promise<void> {
  const tenantId = decodeJobMessage(record.body)?.tenantId ?? 'unknown';
  const started = Date.now();
  let failed = true;
  try {
    await runJob(record);
    failed = false;
  } finally {
    publishJobMetrics(metrics, tenantId, failed, Date.now() - started);
  }
}

/** The model function behind an SQS event source with ReportBatchItemFailures. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  memoryMb = lambdaMemoryMb(context, process.env);
  try {
    // A batch whose every record failed throws, as Powertools does by default: Lambda retries all of it.
    return await partialBatchResponse(event, processRecord, { context, throwOnFullBatchFailure: true });
  } finally {
    // Before the sandbox freezes: spans still buffered would otherwise leave only on a later event.
    await tracing.flush();
  }
}

import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * The SQS partial batch response around a per-record handler (Powertools' `processPartialResponse`): a
 * record whose handler throws is reported in `batchItemFailures` and delivered again; the others are done.
 * Records run one after another, as Lambda runs a batch. A batch whose every record failed answers with
 * all of them instead of throwing (`throwOnFullBatchFailure: false`): the caller decides what a failure
 * means (Lambda's entry may let it throw).
 */
export async function partialBatchResponse(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  options: { context?: Context; throwOnFullBatchFailure?: boolean } = {},
): Promise<SQSBatchResponse> {
  // A processor per call: it holds the batch's records and failures while it runs, and calls overlap.
  return processPartialResponse(event, handle, new BatchProcessor(EventType.SQS), {
    processInParallel: false,
    throwOnFullBatchFailure: options.throwOnFullBatchFailure ?? false,
    ...(options.context ? { context: options.context } : {}),
  });
}

import type { SQSEvent } from 'aws-lambda';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';

/** The SQS event of one message on its first delivery (`m-{id}` / `r-{id}`), as the local hosts build it. */
export function firstDelivery(queue: string, id: string, body: string): SQSEvent {
  const at = Date.now();
  return toSqsEvent(queue, [
    {
      messageId: `m-${id}`,
      receiptHandle: `r-${id}`,
      body,
      attributes: {},
      receiveCount: 1,
      sentAt: at,
      firstReceivedAt: at,
    },
  ]);
}

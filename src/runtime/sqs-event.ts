import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { ReceivedMessage } from '../ports/message-queue.ts';

/** Builds the event Lambda's SQS event source would deliver, so one handler runs in both places. */
export function toSqsEvent(queue: string, messages: ReceivedMessage[], region = 'local'): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: 'silopool',
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt),
          ...(m.groupId ? { MessageGroupId: m.groupId } : {}),
        },
        // As Lambda delivers them: the trace context travels here (observability/spans.ts).
        messageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([k, v]) => [k, { stringValue: v, dataType: 'String' }]),
        ),
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${region}:000000000000:${queue}`,
        awsRegion: region,
      }),
    ),
  };
}

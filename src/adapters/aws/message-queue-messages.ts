import type { Message, MessageAttributeValue, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { ReceivedMessage, SendMessage } from '../../ports/message-queue.ts';

// Reserved message attributes; user attributes may not use the prefix.
const GROUP_ATTR = 'silopool.group';
const COST_ATTR = 'silopool.cost';
const PRIORITY_ATTR = 'silopool.priority';
const RESERVED_PREFIX = 'silopool.';

/** Whether the queue is FIFO (its name ends in `.fifo`): SQS dedups it itself and takes MessageDeduplicationId. */
export function isFifo(queue: string): boolean {
  return queue.endsWith('.fifo');
}

function attributesOf(message: SendMessage): Record<string, MessageAttributeValue> {
  const attrs: Record<string, MessageAttributeValue> = {};
  for (const [key, value] of Object.entries(message.attributes ?? {})) {
    if (key.startsWith(RESERVED_PREFIX)) throw new Error(`Message attribute ${key} uses a reserved prefix.`);
    attrs[key] = { DataType: 'String', StringValue: value };
  }
  // SQS fair queues do not return MessageGroupId on every receive path; the attribute always does.
  if (message.groupId !== undefined) attrs[GROUP_ATTR] = { DataType: 'String', StringValue: message.groupId };
  if (message.cost !== undefined)
    attrs[COST_ATTR] = { DataType: 'Number', StringValue: String(message.cost) };
  if (message.priority !== undefined) {
    attrs[PRIORITY_ATTR] = { DataType: 'Number', StringValue: String(message.priority) };
  }
  return attrs;
}

/** A send entry: body, group, dedup id (FIFO queues only), delay and attributes, the reserved ones added. */
export function entryOf(queue: string, message: SendMessage, id: string): SendMessageBatchRequestEntry {
  const attrs = attributesOf(message);
  return {
    Id: id,
    MessageBody: message.body,
    ...(message.groupId !== undefined ? { MessageGroupId: message.groupId } : {}),
    ...(message.dedupId !== undefined && isFifo(queue) ? { MessageDeduplicationId: message.dedupId } : {}),
    ...(message.delaySec !== undefined ? { DelaySeconds: message.delaySec } : {}),
    ...(Object.keys(attrs).length > 0 ? { MessageAttributes: attrs } : {}),
  };
}

/** A received SQS message as the port's `ReceivedMessage`: the reserved attributes read back, not passed on. */
export function toReceived(message: Message): ReceivedMessage {
  const system = message.Attributes ?? {};
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (!key.startsWith(RESERVED_PREFIX) && value.StringValue !== undefined)
      attributes[key] = value.StringValue;
  }
  const groupId = system.MessageGroupId ?? message.MessageAttributes?.[GROUP_ATTR]?.StringValue;
  const sentAt = Number(system.SentTimestamp ?? Date.now());
  const cost = message.MessageAttributes?.[COST_ATTR]?.StringValue;
  const priority = message.MessageAttributes?.[PRIORITY_ATTR]?.StringValue;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    ...(groupId !== undefined ? { groupId } : {}),
    attributes,
    ...(cost !== undefined ? { cost: Number(cost) } : {}),
    ...(priority !== undefined ? { priority: Number(priority) } : {}),
    receiveCount: Number(system.ApproximateReceiveCount ?? 1),
    sentAt,
    firstReceivedAt: Number(system.ApproximateFirstReceiveTimestamp ?? sentAt),
  };
}

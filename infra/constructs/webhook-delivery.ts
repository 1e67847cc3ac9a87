import { Duration, type Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { WEBHOOK_QUEUE } from '../../src/functions/webhook-message.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import type { CodeSource } from '../config.ts';
import { tenantKeysStatement } from '../tenant-keys.ts';
import { SilopoolFunction } from './silopool-function.ts';

export interface WebhookDeliveryProps {
  code: CodeSource;
  environment: Record<string, string>;
  tenantsTable: dynamodb.ITable;
  sharedTable: dynamodb.ITable;
  /** Dedicated tenants' tables in every Region tenant stacks live in (`silopool-tenant-*`). */
  dedicatedTablesArns: string[];
  /** The platform's Region and its contract Regions. */
  regions: string[];
  alarmTopic: sns.ITopic;
}

export interface WebhookDelivery {
  queue: sqs.Queue;
  role: iam.Role;
  fn: SilopoolFunction;
}

const TIMEOUT_SEC = 30;

/**
 * Webhooks on AWS: the `system_webhooks` queue with its dead-letter queue and an alarm on it, and the
 * webhook function behind it (src/entry/lambda-webhooks.ts), whose role reads the tenant's record (URL,
 * secret) and the job's, and posts signed notifications. Made in the stack's own scope, so the resources
 * keep the logical ids they had when the stack made them itself (a fixed-name queue cannot be replaced).
 */
export function addWebhookDelivery(stack: Stack, props: WebhookDeliveryProps): WebhookDelivery {
  const deadLetters = new sqs.Queue(stack, 'WebhooksDeadLetterQueue', {
    queueName: deadLetterQueueName(WEBHOOK_QUEUE),
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  const queue = new sqs.Queue(stack, 'Webhooks', {
    queueName: WEBHOOK_QUEUE,
    // AWS's guidance for SQS event sources: at least six times the function's timeout, so a batch retried
    // after a throttle is not visible again while an earlier invocation still works on it.
    visibilityTimeout: Duration.seconds(TIMEOUT_SEC * 6),
    deadLetterQueue: { queue: deadLetters, maxReceiveCount: 12 },
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });

  const role = new iam.Role(stack, 'WebhookRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'Silopool webhook delivery: reads tenants and job records',
  });
  // GetItem only: the tenant's record (its webhook secret) and the job's; no listing of either table.
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:GetItem'],
      resources: [props.tenantsTable.tableArn, props.sharedTable.tableArn],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['dynamodb:GetItem'],
      resources: props.dedicatedTablesArns,
    }),
  );
  // A dedicated tenant's table is encrypted with its own key: reading its job record needs the key, through
  // DynamoDB only (the function reads no objects).
  role.addToPolicy(tenantKeysStatement(stack, ['kms:Decrypt'], ['dynamodb'], props.regions));
  const fn = new SilopoolFunction(stack, 'WebhookFunction', {
    entry: 'webhooks',
    code: props.code,
    environment: props.environment,
    memoryMb: 256,
    timeoutSec: TIMEOUT_SEC,
    role,
  });
  fn.fn.addEventSource(
    new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }),
  );
  new cloudwatch.Alarm(stack, 'WebhookDeadLettersAlarm', {
    alarmDescription:
      'Webhook notifications were dead-lettered after 12 failed deliveries: check the tenants’ endpoints.',
    metric: deadLetters.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  }).addAlarmAction(new actions.SnsAction(props.alarmTopic));
  return { queue, role, fn };
}

import { Duration, SecretValue, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTIFICATION_QUEUE } from '../../src/functions/notification-message.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import type { CodeSource, NotificationSettings } from '../config.ts';
import { announcementDedupStatement, dedicatedBucketsArn, inThisAccount } from '../tenant-grants.ts';
import { tenantKeysStatement } from '../tenant-keys.ts';
import { SilopoolFunction } from './silopool-function.ts';

// Users' settings in their tenant's objects (src/functions/notification-preferences.ts), under `tenants/{id}/`.
const SETTINGS = 'tenants/*/notifications/users/*';
const TIMEOUT_SEC = 30;
const MAX_RECEIVES = 12;
/** Concurrent deliveries at most: SMTP servers and push services see a bounded sender. */
export const NOTIFICATION_CONCURRENCY = 5;

export interface UserNotificationsProps {
  /** Regions of dedicated tenants' tables and buckets: the platform's and its contract Regions (default: the stack's). */
  tenantRegions?: string[];
  code: CodeSource;
  environment: Record<string, string>;
  settings?: NotificationSettings;
  viewsTable: dynamodb.ITable;
  dedupTable: dynamodb.ITable;
  sharedTable: dynamodb.ITable;
  sharedBucket: s3.IBucket;
  alarmTopic: sns.ITopic;
}

/**
 * User notifications (email, Web Push) on AWS: the `system_notifications` queue with its dead-letter queue
 * and an alarm on it, and the notification function behind it (src/entry/lambda-notifications.ts), whose role
 * reads tenants' views, their job records and their users' settings, and sends to this queue only.
 */
export class UserNotifications extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly role: iam.Role;
  readonly fn: SilopoolFunction;
  /**
   * The channel settings as Lambda environment variables: CloudFormation resolves the secret's fields at
   * deploy time (dynamic references); the functions that mail or push (and the API, which offers the
   * channels and mails verification codes) get them.
   */
  readonly channelEnvironment: Record<string, string>;

  constructor(scope: Construct, id: string, props: UserNotificationsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.channelEnvironment = channelEnvironment(props.settings);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(NOTIFICATION_QUEUE),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: NOTIFICATION_QUEUE,
      // AWS's guidance for SQS event sources: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(TIMEOUT_SEC * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: "Silopool user notifications: reads tenants' views, job records and users' settings",
    });
    const role = this.role;
    // Tenants' views (status, placement; no secrets), and job records by key: GetItem only.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: [props.viewsTable.tableArn, props.sharedTable.tableArn],
      }),
    );
    const regions = props.tenantRegions ?? [stack.region];
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem'],
        resources: regions.map(
          (r) => `arn:${stack.partition}:dynamodb:${r}:${stack.account}:table/silopool-tenant-*`,
        ),
      }),
    );
    // Users' settings: read at fan-out and delivery, rewritten when a push service says a device is gone.
    const dedicatedBuckets = regions.map((r) => dedicatedBucketsArn(stack, r));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [
          props.sharedBucket.arnForObjects(SETTINGS),
          ...dedicatedBuckets.map((b) => `${b}/${SETTINGS}`),
        ],
        conditions: inThisAccount(stack),
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [props.sharedBucket.bucketArn, ...dedicatedBuckets],
        conditions: { StringLike: { 's3:prefix': [SETTINGS] }, ...inThisAccount(stack) },
      }),
    );
    // Dedicated tenants' job records and users' settings, under their own keys.
    role.addToPolicy(
      tenantKeysStatement(stack, ['kms:Decrypt', 'kms:GenerateDataKey'], ['s3', 'dynamodb'], regions),
    );
    // The fan-out's deliveries go back to this queue, deduplicated by their own items.
    this.queue.grantSendMessages(role);
    role.addToPolicy(announcementDedupStatement(stack, props.dedupTable, [NOTIFICATION_QUEUE]));

    this.fn = new SilopoolFunction(this, 'Function', {
      entry: 'notifications',
      code: props.code,
      environment: { ...props.environment, ...this.channelEnvironment },
      memoryMb: 256,
      timeoutSec: TIMEOUT_SEC,
      // A bounded sender, and never starved by the model functions' bursts.
      reservedConcurrency: NOTIFICATION_CONCURRENCY,
      role,
    });
    this.fn.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: NOTIFICATION_CONCURRENCY,
      }),
    );
    new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: `User notifications were dead-lettered after ${MAX_RECEIVES} failed deliveries: check the SMTP server and the notification function's logs.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }

  /** A model function's role may announce finished jobs here. */
  grantAnnounce(role: iam.IRole): void {
    // Its dedup items are granted with the webhooks' (tenant-grants.ts `announcementDedupStatement`).
    this.queue.grantSendMessages(role);
  }
}

/** The Secrets Manager secret's JSON fields as environment variables (CloudFormation dynamic references). */
function channelEnvironment(settings: NotificationSettings | undefined): Record<string, string> {
  if (!settings) return {};
  const field = (jsonField: string) =>
    SecretValue.secretsManager(settings.secretArn, { jsonField }).unsafeUnwrap();
  return {
    ...(settings.email !== false ? { SILOPOOL_SMTP_URL: field('smtpUrl') } : {}),
    ...(settings.push !== false
      ? {
          SILOPOOL_VAPID_PUBLIC_KEY: field('vapidPublicKey'),
          SILOPOOL_VAPID_PRIVATE_KEY: field('vapidPrivateKey'),
        }
      : {}),
    ...(settings.from ? { SILOPOOL_SMTP_FROM: settings.from } : {}),
    ...(settings.vapidSubject ? { SILOPOOL_VAPID_SUBJECT: settings.vapidSubject } : {}),
    ...(settings.publicUrl ? { PUBLIC_URL: settings.publicUrl } : {}),
  };
}

import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import type { CodeSource } from '../config.ts';
import { SilopoolFunction } from './silopool-function.ts';

/**
 * Receives before a message is dead-lettered: one more than the embedded lanes (src/control/lanes.ts), because
 * on Lambda a batch the poller receives but cannot invoke (throttled by reserved concurrency or the account's
 * unreserved pool) still counts a receive. AWS's guidance for SQS event sources: a maxReceiveCount of at least 5
 * ("Using Lambda with Amazon SQS", Lambda Developer Guide).
 */
export const MAX_RECEIVES = 5;
/** The smallest maximum concurrency an SQS event source mapping takes (Lambda API, ScalingConfig: 2–1000). */
export const MIN_MAPPING_CONCURRENCY = 2;
/** Records per invocation: small, because one model run can take seconds. */
export const BATCH_SIZE = 5;

export interface ModelLaneProps {
  /** From src/core/placement.ts: `shared_{model}` or `tenant_{id}_{model}`. */
  queueName: string;
  code: CodeSource;
  environment: Record<string, string>;
  /** Numbers may be tokens (the tenant template's parameters). */
  memoryMb: number;
  timeoutSec: number;
  /**
   * The queue's visibility timeout; six times `timeoutSec` if not given (AWS's guidance for Lambda event
   * sources). Required when `timeoutSec` is a token: CloudFormation cannot multiply.
   */
  visibilityTimeoutSec?: number;
  role: iam.IRole;
  /** Shared lanes: the event source's maximum concurrency. */
  maxConcurrency?: number;
  /**
   * Dedicated lanes: reserved concurrency of the function, also the event source's maximum concurrency, so the
   * poller never invokes more than the function may run (AWS: keep the mapping's maximum at or below the
   * reserved concurrency, or throttled batches return to the queue and count receives). At least 2.
   */
  reservedConcurrency?: number;
  /** Dedicated lanes encrypt their queues with the tenant's key; shared lanes use SQS-managed keys. */
  encryptionKey?: kms.IKey;
  alarmTopic: sns.ITopic;
  /** The dead-letter alarm's name, when something reads it by name (dedicated lanes: the upgrade's health). */
  deadLettersAlarmName?: string;
}

// AWS's guidance for Lambda event sources: six times the function timeout.
function visibilityFor(timeoutSec: number): number {
  if (Token.isUnresolved(timeoutSec)) {
    throw new Error('A lane whose timeout is a deploy-time value needs an explicit visibilityTimeoutSec.');
  }
  return timeoutSec * 6;
}

/** One model's lane: queue, dead-letter queue, the model function with its SQS event source, and alarms. */
export class ModelLane extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly fn: SilopoolFunction;

  constructor(scope: Construct, id: string, props: ModelLaneProps) {
    super(scope, id);
    const visibilityTimeoutSec = props.visibilityTimeoutSec ?? visibilityFor(props.timeoutSec);
    if (
      !Token.isUnresolved(visibilityTimeoutSec) &&
      !Token.isUnresolved(props.timeoutSec) &&
      visibilityTimeoutSec < props.timeoutSec
    ) {
      throw new Error(
        `The ${id} queue's visibility timeout (${visibilityTimeoutSec} s) must be at least its function's timeout (${props.timeoutSec} s).`,
      );
    }
    const maxConcurrency = props.maxConcurrency ?? props.reservedConcurrency;
    if (
      maxConcurrency !== undefined &&
      !Token.isUnresolved(maxConcurrency) &&
      maxConcurrency < MIN_MAPPING_CONCURRENCY
    ) {
      throw new Error(
        `The ${id} event source needs a maximum concurrency of at least ${MIN_MAPPING_CONCURRENCY} (given ${maxConcurrency}).`,
      );
    }
    const encryption = props.encryptionKey
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: deadLetterQueueName(props.queueName),
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
      ...encryption,
    });
    // Standard queue: sending with MessageGroupId = tenant makes it an SQS fair queue, no setting needed.
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: props.queueName,
      visibilityTimeout: Duration.seconds(visibilityTimeoutSec),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVES },
      enforceSSL: true,
      ...encryption,
    });
    this.fn = new SilopoolFunction(this, 'Model', {
      entry: 'model',
      code: props.code,
      environment: { ...props.environment, SILOPOOL_MAX_RECEIVES: String(MAX_RECEIVES) },
      memoryMb: props.memoryMb,
      timeoutSec: props.timeoutSec,
      role: props.role,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrency: props.reservedConcurrency } : {}),
    });
    this.fn.fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: BATCH_SIZE,
        reportBatchItemFailures: true,
        ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
      }),
    );

    const alarmAction = new actions.SnsAction(props.alarmTopic);
    new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
      ...(props.deadLettersAlarmName ? { alarmName: props.deadLettersAlarmName } : {}),
      alarmDescription: `Messages of ${props.queueName} reached its dead-letter queue: inspect and redrive.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);
    new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: `The ${props.queueName} model function failed invocations.`,
      metric: this.fn.fn.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(alarmAction);
  }

  /** Dashboard widgets of this lane. */
  widgets(): cloudwatch.IWidget[] {
    return [
      new cloudwatch.GraphWidget({
        title: `${this.node.id} queue`,
        left: [
          this.queue.metricApproximateNumberOfMessagesVisible(),
          this.queue.metricApproximateAgeOfOldestMessage(),
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ label: 'dead letters' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: `${this.node.id} function`,
        left: [this.fn.fn.metricInvocations(), this.fn.fn.metricErrors(), this.fn.fn.metricThrottles()],
        right: [this.fn.fn.metricDuration({ statistic: 'p95' })],
        width: 12,
      }),
    ];
  }
}

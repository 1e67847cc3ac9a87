import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CodeSource } from '../config.ts';
import { SilopoolFunction } from './silopool-function.ts';

/** One run at a time: the only mover. Reserved out of the account's concurrency (infra/capacity.ts counts it). */
export const CONTROL_RESERVED_CONCURRENCY = 1;

export interface ControlFunctionProps {
  code: CodeSource;
  /** The control plane's role, the API's. */
  role: iam.IRole;
  environment: Record<string, string>;
  alarmTopic: sns.ITopic;
}

/**
 * The control plane's long-running work (placement moves: a tenant stack takes minutes) every minute,
 * one run at a time: reserved concurrency 1 makes it the only mover; a run lasts up to 15 minutes.
 */
export class ControlFunction extends Construct {
  readonly fn: SilopoolFunction;

  constructor(scope: Construct, id: string, props: ControlFunctionProps) {
    super(scope, id);
    this.fn = new SilopoolFunction(this, 'Function', {
      entry: 'control',
      code: props.code,
      environment: { ...props.environment, SILOPOOL_MOVE_RUNNER: 'here' },
      memoryMb: 512,
      timeoutSec: 900,
      reservedConcurrency: CONTROL_RESERVED_CONCURRENCY,
      role: props.role,
    });
    // A tick that finds the previous run still going is throttled: drop it, the next one comes in a
    // minute, instead of Lambda retrying a pile of stale ticks for hours.
    this.fn.fn.configureAsyncInvoke({ maxEventAge: Duration.minutes(1), retryAttempts: 0 });
    new events.Rule(this, 'Schedule', {
      description: 'Runs the Silopool control function (placement moves) every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.fn.fn)],
    });
    new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'The Silopool control function (placement moves) failed invocations.',
      metric: this.fn.fn.metricErrors({ period: Duration.minutes(5) }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }).addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }
}

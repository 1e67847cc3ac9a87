import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { CodeSource } from '../config.ts';
import { SilopoolFunction } from './silopool-function.ts';

export interface DeadLetterSettlerProps {
  code: CodeSource;
  /** The control plane's role: it reads and writes every tenant's job records (shared and dedicated). */
  role: iam.Role;
  environment: Record<string, string>;
  /** Regions of dedicated tenants' lanes: the platform's and its contract Regions (default: the stack's). */
  tenantRegions?: string[];
}

/**
 * Every dead letter settles its job: once a minute, a function reads the model lanes' dead-letter queues
 * (shared and dedicated), fails each message's job with `dead_lettered` and leaves the message for
 * inspection and redrive (src/control/dead-letter-sweep.ts). It runs the control bundle's second export.
 */
export class DeadLetterSettler extends Construct {
  readonly fn: SilopoolFunction;

  constructor(scope: Construct, id: string, props: DeadLetterSettlerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const dlqArn = (pattern: string, region = stack.region) =>
      `arn:${stack.partition}:sqs:${region}:${stack.account}:${pattern}`;
    props.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl'],
        resources: [
          dlqArn('shared_*-dlq'),
          ...(props.tenantRegions ?? [stack.region]).map((r) => dlqArn('tenant_*-dlq', r)),
        ],
      }),
    );
    // ListQueues has no resource-level permission; the sweep filters to the lanes' `-dlq` queues.
    props.role.addToPolicy(new iam.PolicyStatement({ actions: ['sqs:ListQueues'], resources: ['*'] }));
    this.fn = new SilopoolFunction(this, 'Function', {
      entry: 'control',
      handler: 'sweepDeadLetters',
      code: props.code,
      environment: props.environment,
      memoryMb: 512,
      timeoutSec: 300,
      // One sweep at a time: two would hide each other's messages for nothing.
      reservedConcurrency: 1,
      role: props.role,
    });
    this.fn.fn.configureAsyncInvoke({ maxEventAge: Duration.minutes(1), retryAttempts: 0 });
    new events.Rule(this, 'Schedule', {
      description: 'Settles the jobs of Silopool dead letters every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.fn.fn)],
    });
  }
}

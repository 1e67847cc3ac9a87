import {
  type CloudWatchClient,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
  type StateValue,
} from '@aws-sdk/client-cloudwatch';
import { tenantAlarmNames } from '../../src/adapters/aws/naming.ts';
import type { TenantId } from '../../src/core/ids.ts';

/**
 * Makes alarm `name` as a tenant stack declares one (moto's CloudFormation does not create
 * `AWS::CloudWatch::Alarm`) and puts it in `state` with SetAlarmState.
 */
export async function putAlarm(client: CloudWatchClient, name: string, state: StateValue): Promise<void> {
  await client.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'Silopool',
      MetricName: 'JobFailures',
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    }),
  );
  await client.send(
    new SetAlarmStateCommand({ AlarmName: name, StateValue: state, StateReason: `set ${state}` }),
  );
}

/** Every alarm a tenant's stack declares for `models` (job failures, each lane's dead letters), all OK. */
export async function putTenantAlarmsOk(
  client: CloudWatchClient,
  tenantId: TenantId | string,
  models: readonly string[],
): Promise<void> {
  const names = tenantAlarmNames(tenantId as TenantId, [...models]);
  for (const name of [names.jobFailures, ...Object.values(names.deadLetters)])
    await putAlarm(client, name, 'OK');
}

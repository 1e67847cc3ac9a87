import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { TenantId } from '../../core/ids.ts';
import type { FiringAlarm, ReleaseAlarms } from '../../ports/release-alarms.ts';
import { tenantAlarmNames } from './naming.ts';

/** DescribeAlarms takes at most 100 names per call (CloudWatch API reference, DescribeAlarms `AlarmNames`). */
const NAMES_PER_CALL = 100;

export interface CloudWatchReleaseAlarmsOptions {
  client: CloudWatchClient;
  /** The models whose lanes have dead-letter alarms (the tenant stack makes one per model). */
  models: readonly string[];
}

/**
 * Release alarms on AWS: the tenant stacks' alarms of job failure rate and dead letters
 * (`tenantAlarmNames`), read with DescribeAlarms by name, those in state ALARM. An alarm that does not
 * exist (a stack made before these alarms) is not firing. Errors from CloudWatch propagate: the upgrade
 * does not judge a wave it cannot see.
 */
export function createCloudWatchReleaseAlarms(options: CloudWatchReleaseAlarmsOptions): ReleaseAlarms {
  return {
    async firing(tenantIds) {
      const owner = new Map<string, TenantId>();
      for (const tenantId of tenantIds) {
        const names = tenantAlarmNames(tenantId, options.models);
        for (const name of [names.jobFailures, ...Object.values(names.deadLetters)])
          owner.set(name, tenantId);
      }
      const all = [...owner.keys()];
      const out: FiringAlarm[] = [];
      for (let i = 0; i < all.length; i += NAMES_PER_CALL) {
        let nextToken: string | undefined;
        do {
          const page = await options.client.send(
            new DescribeAlarmsCommand({
              AlarmNames: all.slice(i, i + NAMES_PER_CALL),
              AlarmTypes: ['MetricAlarm'],
              StateValue: 'ALARM',
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          );
          for (const alarm of page.MetricAlarms ?? []) {
            const tenantId = alarm.AlarmName ? owner.get(alarm.AlarmName) : undefined;
            if (!tenantId || alarm.StateValue !== 'ALARM') continue;
            out.push({ tenantId, name: alarm.AlarmName as string, reason: alarm.StateReason ?? 'in ALARM' });
          }
          nextToken = page.NextToken;
        } while (nextToken);
      }
      return out;
    },
  };
}

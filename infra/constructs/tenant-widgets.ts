import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { FAILURE_RATE_MIN_JOBS, FAILURE_RATE_THRESHOLD } from '../../src/control/alerts.ts';

/** The namespace and service dimension of the EMF metrics src/entry/lambda-function.ts writes. */
export const METRICS_NAMESPACE = 'Silopool';
export const METRICS_SERVICE = 'silopool-model';

function tenantMetric(tenantId: string, metricName: string, statistic = 'Sum', period?: Duration) {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE, TenantId: tenantId },
    statistic,
    ...(period ? { period } : {}),
  });
}

/**
 * The tenant's job failure rate alarm, the rule the embedded server evaluates as SilopoolJobFailureRate
 * (src/control/alerts.ts): more than 10 % of its jobs failed in 15 minutes, with at least 5 ended. JobFailures
 * and JobsProcessed (succeeded) are the EMF counts src/entry/job-metrics.ts writes; no data is no failure.
 */
export function tenantJobFailureAlarm(
  scope: Construct,
  alarmName: string,
  tenantId: string,
): cloudwatch.Alarm {
  const period = Duration.minutes(15);
  const rate = new cloudwatch.MathExpression({
    expression: `IF(failed + succeeded >= ${FAILURE_RATE_MIN_JOBS}, failed / (failed + succeeded), 0)`,
    usingMetrics: {
      failed: tenantMetric(tenantId, 'JobFailures', 'Sum', period),
      succeeded: tenantMetric(tenantId, 'JobsProcessed', 'Sum', period),
    },
    period,
    label: 'job failure rate',
  });
  return new cloudwatch.Alarm(scope, 'JobFailureRateAlarm', {
    alarmName,
    alarmDescription: `More than ${FAILURE_RATE_THRESHOLD * 100} % of the tenant's jobs failed in 15 minutes.`,
    metric: rate,
    threshold: FAILURE_RATE_THRESHOLD,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}

/** Widgets of one tenant's jobs from EMF metrics with the TenantId dimension. */
export function tenantJobWidgets(tenantId: string): cloudwatch.IWidget[] {
  const metric = (metricName: string, statistic = 'Sum') => tenantMetric(tenantId, metricName, statistic);
  return [
    new cloudwatch.GraphWidget({
      title: 'Jobs',
      left: [metric('JobsProcessed'), metric('JobFailures')],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Job duration (ms)',
      left: [metric('JobDuration', 'p50'), metric('JobDuration', 'p95')],
      width: 12,
    }),
  ];
}

import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The namespace and service dimension of the EMF metrics src/entry/lambda-function.ts writes. */
export const METRICS_NAMESPACE = 'Silopool';
export const METRICS_SERVICE = 'silopool-model';

/** Widgets of one tenant's jobs from EMF metrics with the TenantId dimension. */
export function tenantJobWidgets(tenantId: string): cloudwatch.IWidget[] {
  const metric = (metricName: string, statistic = 'Sum') =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: METRICS_SERVICE, TenantId: tenantId },
      statistic,
    });
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

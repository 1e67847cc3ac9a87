import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One job's EMF metrics, each with dimensions `service` and `TenantId` (the dashboards' widgets ask for
 * both, infra/constructs/tenant-widgets.ts). A single-metric object publishes on its first `addMetric` and
 * clears its dimensions then, so a second metric added to it would go out without `TenantId`: one object
 * per metric (Powertools for AWS Lambda, Metrics: "Single metric").
 */
export function publishJobMetrics(
  metrics: Metrics,
  tenantId: string,
  failed: boolean,
  durationMs: number,
): void {
  const perTenant = () => {
    const metric = metrics.singleMetric();
    metric.addDimension('TenantId', tenantId);
    return metric;
  };
  perTenant().addMetric(failed ? 'JobFailures' : 'JobsProcessed', MetricUnit.Count, 1);
  perTenant().addMetric('JobDuration', MetricUnit.Milliseconds, durationMs);
}

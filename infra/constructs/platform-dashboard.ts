import type { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { ModelLane } from './model-lane.ts';
import type { SilopoolFunction } from './silopool-function.ts';
import { tenantJobWidgets } from './tenant-widgets.ts';

/** The platform's dashboard: jobs per tenant (pick one), each shared lane, the API, moves, the directory. */
export function addPlatformDashboard(
  stack: Stack,
  parts: {
    lanes: ModelLane[];
    tenantsTable: dynamodb.Table;
    api: SilopoolFunction;
    control: SilopoolFunction;
  },
): void {
  const { lanes, tenantsTable, api, control } = parts;
  // A property variable rewrites the TenantId of every widget: pick a tenant, see its jobs.
  const tenant = new cloudwatch.DashboardVariable({
    id: 'tenant',
    type: cloudwatch.VariableType.PROPERTY,
    inputType: cloudwatch.VariableInputType.SELECT,
    value: 'TenantId',
    label: 'Tenant',
    values: cloudwatch.Values.fromSearchComponents({
      namespace: 'Silopool',
      dimensions: ['service', 'TenantId'],
      metricName: 'JobsProcessed',
      populateFrom: 'TenantId',
    }),
    defaultValue: cloudwatch.DefaultValue.FIRST,
  });
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', {
    // Dashboard names are unique per account, across Regions: a second Region's platform needs its own.
    dashboardName: `${stack.stackName}-${stack.region}`,
    variables: [tenant],
  });
  dashboard.addWidgets(...tenantJobWidgets('all'));
  for (const lane of lanes) dashboard.addWidgets(...lane.widgets());
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'API',
      left: [api.fn.metricInvocations(), api.fn.metricErrors()],
      right: [api.fn.metricDuration({ statistic: 'p95' })],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Control (placement moves)',
      left: [control.fn.metricInvocations(), control.fn.metricErrors(), control.fn.metricThrottles()],
      right: [control.fn.metricDuration({ statistic: 'Maximum' })],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Tenant directory',
      left: [tenantsTable.metricConsumedReadCapacityUnits(), tenantsTable.metricConsumedWriteCapacityUnits()],
      width: 12,
    }),
  );
}

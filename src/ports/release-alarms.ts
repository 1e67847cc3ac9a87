import type { TenantId } from '../core/ids.ts';

/** An alarm about one tenant that is firing now. */
export interface FiringAlarm {
  tenantId: TenantId;
  /** The alarm's name: a CloudWatch alarm on AWS, an alert rule (src/control/alerts.ts) embedded. */
  name: string;
  /** Why it fires, for the upgrade's step detail. */
  reason: string;
}

/**
 * The alarms an upgrade watches between waves (src/control/release-rollout.ts), beside the jobs and dead
 * letters it reads itself: on AWS the tenants' CloudWatch alarms in state ALARM
 * (src/adapters/aws/release-alarms.ts), embedded the per-tenant alert rules on metrics history
 * (src/control/release-alarms.ts).
 */
export interface ReleaseAlarms {
  /** The alarms of these tenants firing now; none for a tenant without alarms. */
  firing(tenantIds: readonly TenantId[]): Promise<FiringAlarm[]>;
}

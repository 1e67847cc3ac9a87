import type { TenantId } from '../core/ids.ts';
import type { MetricsHistoryStore } from '../ports/metrics-history.ts';
import type { FiringAlarm, ReleaseAlarms } from '../ports/release-alarms.ts';
import { activeAlerts } from './alerts.ts';

/**
 * The alert rules that say a tenant's jobs are unhealthy, the same as its AWS alarms (infra/tenant-stack.ts:
 * job failure rate, dead letters). Queue wait and cold starts say nothing about the code a release brings.
 */
export const RELEASE_ALERT_RULES: readonly string[] = ['SilopoolDeadLetters', 'SilopoolJobFailureRate'];

/**
 * Release alarms of the embedded server: the per-tenant alert rules of RELEASE_ALERT_RULES evaluated on its
 * metrics history (`activeAlerts`) at `now()` (epoch ms), for the tenants asked about.
 */
export function createHistoryReleaseAlarms(
  store: MetricsHistoryStore,
  now: () => number = Date.now,
): ReleaseAlarms {
  return {
    async firing(tenantIds) {
      const wanted = new Set<string>(tenantIds);
      const alerts = await activeAlerts(store, now());
      const out: FiringAlarm[] = [];
      for (const alert of alerts) {
        if (!alert.tenantId || !wanted.has(alert.tenantId) || !RELEASE_ALERT_RULES.includes(alert.name))
          continue;
        out.push({
          tenantId: alert.tenantId as TenantId,
          name: alert.name,
          reason: `${alert.summary} (${Math.round(alert.value * 1000) / 1000})`,
        });
      }
      return out;
    },
  };
}

/** No alarms: where nothing keeps them (an embedded server without metrics history). */
export const noReleaseAlarms: ReleaseAlarms = { firing: async () => [] };

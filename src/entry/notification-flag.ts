// Apart from notifications.ts: the model bundles read the flag without loading nodemailer and web-push.
import { flagSettingOf } from '../core/settings.ts';

/**
 * `SILOPOOL_NOTIFICATIONS=on` (or `true`, `1`, as every flag): the platform delivers user notifications (the
 * CDK app sets it where its `system_notifications` queue and notification function exist), so finished jobs
 * are announced there.
 * @throws ConfigError naming the variable when it is neither on nor off
 */
export function announcesToUsers(env: NodeJS.ProcessEnv): boolean {
  return flagSettingOf(env, 'SILOPOOL_NOTIFICATIONS');
}

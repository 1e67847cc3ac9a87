// Apart from notifications.ts: the model bundles read the flag without loading nodemailer and web-push.

/**
 * `SILOPOOL_NOTIFICATIONS=on`: the platform delivers user notifications (the CDK app sets it where its
 * `system_notifications` queue and notification function exist), so finished jobs are announced there.
 */
export function announcesToUsers(env: NodeJS.ProcessEnv): boolean {
  return env.SILOPOOL_NOTIFICATIONS === 'on';
}

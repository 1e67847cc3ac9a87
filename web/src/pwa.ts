/**
 * Registers the service worker (web/src/sw.ts, built to `/sw.js`): the portal installs as an app, opens
 * offline, and shows job-finished pushes. Absent under the Vite dev server, where registering fails quietly.
 */
export function registerServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
}

/** The browser's push subscription for this app, subscribing with the platform's VAPID key if needed. */
export async function pushSubscription(vapidPublicKey: string): Promise<PushSubscription> {
  const registration = await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  if (existing) return existing;
  return registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: base64UrlBytes(vapidPublicKey),
  });
}

/**
 * The id the server gives this browser's subscription (the first 16 hex digits of the SHA-256 of its
 * endpoint, `subscriptionId` in src/core/notifications.ts), to mark "this device" in the list.
 */
export async function currentSubscriptionId(): Promise<string | undefined> {
  if (!('serviceWorker' in navigator) || !crypto.subtle) return undefined;
  const registration = await navigator.serviceWorker.getRegistration('/');
  const endpoint = (await registration?.pushManager.getSubscription())?.endpoint;
  if (!endpoint) return undefined;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(endpoint));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, 16);
}

export function pushSupported(): boolean {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

function base64UrlBytes(text: string): Uint8Array<ArrayBuffer> {
  const base64 = text
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(text.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The portal's service worker (built by vite-plugin-pwa, strategy `injectManifest`): the app shell is
 * precached so the portal opens offline, page navigations fall back to the cached shell (the API and
 * `/docs` never do), and a job-finished Web Push is shown as a notification that opens the job's page.
 */
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';

// The WebWorker lib cannot be loaded beside the DOM lib the rest of web/src uses: the little of the
// service worker scope this file touches is typed here.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  data: { json(): unknown; text(): string } | null;
}
interface NotificationEvent extends ExtendableEvent {
  notification: Notification;
}
interface WindowClient {
  url: string;
  focus(): Promise<WindowClient>;
  navigate(url: string): Promise<WindowClient | null>;
}
interface ServiceWorkerScope {
  __WB_MANIFEST: Parameters<typeof precacheAndRoute>[0];
  location: Location;
  registration: ServiceWorkerRegistration;
  clients: {
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClient[]>;
    openWindow(url: string): Promise<WindowClient | null>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'push', listener: (event: PushEvent) => void): void;
  addEventListener(type: 'notificationclick', listener: (event: NotificationEvent) => void): void;
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
}

const sw = self as unknown as ServiceWorkerScope;

// Spelled `self.__WB_MANIFEST` on purpose: the build replaces exactly that text with the precache list.
precacheAndRoute((self as unknown as ServiceWorkerScope).__WB_MANIFEST);
cleanupOutdatedCaches();
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: [/^\/v1\//, /^\/docs/] }),
);

// A new version takes over at once: the shell is small and every page reloads its data anyway.
sw.addEventListener('install', (event) => event.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (event) => event.waitUntil(sw.clients.claim()));

/** What the platform pushes (`JobNotice` in src/core/notifications.ts). */
interface JobNotice {
  title?: string;
  body?: string;
  path?: string;
  jobId?: string;
  tenantId?: string;
}

function readNotice(event: PushEvent): JobNotice {
  try {
    return (event.data?.json() as JobNotice) ?? {};
  } catch {
    return { body: event.data?.text() ?? '' };
  }
}

sw.addEventListener('push', (event) => {
  const notice = readNotice(event);
  // Only paths on this origin: a notice never opens another site.
  const path = notice.path?.startsWith('/') && !notice.path.startsWith('//') ? notice.path : '/';
  event.waitUntil(
    sw.registration.showNotification(notice.title ?? 'Silopool', {
      body: notice.body ?? '',
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      // One notification per job: a second push about it replaces the first.
      tag: notice.jobId ? `job-${notice.jobId}` : 'silopool',
      data: { path },
    }),
  );
});

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const path = (event.notification.data as { path?: string } | null)?.path ?? '/';
  const url = new URL(path, sw.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const same = windows.find((w) => w.url === url);
      if (same) return same.focus();
      const any = windows[0];
      if (any) return (await any.navigate(url))?.focus() ?? any.focus();
      return sw.clients.openWindow(url);
    })(),
  );
});

import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, type TestServer } from '../support/server.ts';
import { type SmtpInbox, startSmtpInbox } from '../support/smtp-inbox.ts';
import {
  hasChromium,
  horizontalOverflow,
  screenshot,
  skipReason,
  startWebSession,
  stopWebSession,
  unlabelledControls,
  VIEWPORTS,
} from './browser.ts';

interface ManifestIcon {
  src: string;
  sizes: string;
  type: string;
  purpose?: string;
}

/**
 * The portal as an installed app on a phone (390 px), in Chromium: a valid manifest with the icons an
 * install needs, a service worker controlling the page, the shell opening offline, and a job-finished push
 * shown as a notification. The push is delivered to the service worker over CDP: a real push service is
 * Google's and unreachable here (the server's side of Web Push is tested against a local push service in
 * test/runtime/notification-dispatcher.test.ts).
 */
describe.skipIf(!hasChromium)(
  `the portal as a progressive web app${skipReason}`,
  { timeout: 120_000 },
  () => {
    let server: TestServer;
    let inbox: SmtpInbox;
    let browser: Browser;
    let tenantId: string;
    let token: string;

    beforeAll(async () => {
      inbox = await startSmtpInbox();
      ({ server, browser } = await startWebSession({ SILOPOOL_SMTP_URL: inbox.url }));
      tenantId = newTenantId('pwa');
      await server.createTenant(tenantId, { name: 'PWA Co' });
      token = await server.mintToken({ tenants: [tenantId], user: `pat-${tenantId}` });
    });

    afterAll(async () => {
      await stopWebSession(server, browser);
      await inbox?.close();
    });

    async function phone(): Promise<{ context: BrowserContext; page: Page; cdp: CDPSession }> {
      const context = await browser.newContext({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      return { context, page, cdp };
    }

    /** Signs in and waits until the service worker controls the page. */
    async function controlledPortal(page: Page, path: string): Promise<void> {
      await page.goto(`${server.url}/login#token=${token}`);
      await page.waitForURL(/\/t\//);
      await expect
        .poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null), { timeout: 15_000 })
        .toBe(true);
      await page.goto(`${server.url}${path}`);
    }

    it('has a valid manifest with installable icons, and a service worker controlling the page', async () => {
      const { context, page, cdp } = await phone();
      await controlledPortal(page, `/t/${tenantId}/models`);

      const manifest = (await cdp.send('Page.getAppManifest')) as {
        url: string;
        errors: { message: string; critical: number }[];
        data?: string;
      };
      expect(manifest.url).toBe(`${server.url}/manifest.webmanifest`);
      expect(manifest.errors).toEqual([]);
      const data = JSON.parse(manifest.data ?? '{}') as Record<string, unknown> & { icons: ManifestIcon[] };
      expect(data).toMatchObject({
        name: 'Silopool',
        short_name: 'Silopool',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: '#0b5cad',
      });
      // Chromium's install criteria: a 192 px and a 512 px icon (W3C manifest, "installable" in Chromium).
      for (const size of [192, 512]) {
        const icon = data.icons.find((i) => i.sizes === `${size}x${size}` && i.type === 'image/png');
        expect(icon, `a ${size} px PNG icon`).toBeDefined();
        const res = await fetch(new URL(icon!.src, server.url));
        expect(res.headers.get('content-type')).toBe('image/png');
        const png = Buffer.from(await res.arrayBuffer());
        // IHDR: width and height at bytes 16 and 20 (RFC 2083).
        expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([size, size]);
      }
      expect(data.icons.some((i) => i.purpose === 'maskable')).toBe(true);

      const installability = (await cdp.send('Page.getInstallabilityErrors')) as {
        installabilityErrors: { errorId: string }[];
      };
      // Playwright's contexts are incognito profiles, where Chromium installs nothing whatever the app: every
      // other criterion Chromium checks (manifest, icons, service worker, secure origin) must hold.
      expect(
        installability.installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito'),
      ).toEqual([]);

      const worker = await page.evaluate(async () => {
        const registration = await navigator.serviceWorker.getRegistration('/');
        return {
          script: registration?.active?.scriptURL,
          scope: registration?.scope,
          controlled: navigator.serviceWorker.controller?.scriptURL,
        };
      });
      expect(worker).toEqual({
        script: `${server.url}/sw.js`,
        scope: `${server.url}/`,
        controlled: `${server.url}/sw.js`,
      });
      await context.close();
    });

    it('opens offline: a page navigation is answered by the service worker from the cached shell', async () => {
      const { context, page } = await phone();
      await controlledPortal(page, `/t/${tenantId}/models`);
      await context.setOffline(true);
      const response = await page.goto(`${server.url}/t/${tenantId}/jobs`);
      expect(response?.fromServiceWorker()).toBe(true);
      expect(response?.status()).toBe(200);
      // The shell runs (the app's own markup, not the browser's offline page) even though the API cannot answer.
      await expect.poll(() => page.locator('#root > *').count()).toBeGreaterThan(0);
      await context.setOffline(false);
      await context.close();
    });

    it('shows a pushed job notice as a notification whose click opens the job page', async () => {
      const { context, page, cdp } = await phone();
      await context.grantPermissions(['notifications'], { origin: server.url });
      await cdp.send('ServiceWorker.enable');
      const registrations: { registrationId: string; scopeURL: string }[] = [];
      cdp.on('ServiceWorker.workerRegistrationUpdated', (event) =>
        registrations.push(...event.registrations),
      );
      await controlledPortal(page, `/t/${tenantId}/models`);
      // A pushed message reaches the page through the service worker's own event loop: on a loaded machine
      // (the whole suite beside it) that took more than expect.poll's default second once.
      const slow = { timeout: 15_000 };
      await expect.poll(() => registrations.some((r) => r.scopeURL === `${server.url}/`), slow).toBe(true);
      const registration = registrations.find((r) => r.scopeURL === `${server.url}/`)!;

      const notice = {
        title: 'Job finished: finance',
        body: `Job 01jobid of tenant ${tenantId} (finance) finished`,
        path: `/t/${tenantId}/jobs/01jobid`,
        tenantId,
        jobId: '01jobid',
        status: 'succeeded',
      };
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin: server.url,
        registrationId: registration.registrationId,
        data: JSON.stringify(notice),
      });
      const shown = async () =>
        page.evaluate(async () => {
          const registration = await navigator.serviceWorker.ready;
          return (await registration.getNotifications()).map((n) => ({
            title: n.title,
            body: n.body,
            tag: n.tag,
            data: n.data as unknown,
          }));
        });
      await expect.poll(shown, slow).toHaveLength(1);
      expect(await shown()).toEqual([
        { title: notice.title, body: notice.body, tag: 'job-01jobid', data: { path: notice.path } },
      ]);

      // A push naming another site is shown but opens the app's home, never that site.
      await cdp.send('ServiceWorker.deliverPushMessage', {
        origin: server.url,
        registrationId: registration.registrationId,
        data: JSON.stringify({ ...notice, jobId: 'other', path: '//evil.example/phish' }),
      });
      await expect
        .poll(async () => (await shown()).find((n) => n.tag === 'job-other')?.data, slow)
        .toEqual({ path: '/' });

      // Clicking the job's notification brings the app's window to the job page. No browser API clicks a
      // system notification, so the worker receives the event a click dispatches, for the shown one.
      const worker = context.serviceWorkers().find((w) => w.url() === `${server.url}/sw.js`);
      expect(worker).toBeDefined();
      await worker!.evaluate(async (tag) => {
        const scope = self as unknown as {
          registration: ServiceWorkerRegistration;
          dispatchEvent(event: Event): boolean;
        };
        const [notification] = await scope.registration.getNotifications({ tag });
        const NotificationEventType = (
          globalThis as unknown as {
            NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
          }
        ).NotificationEvent;
        scope.dispatchEvent(new NotificationEventType('notificationclick', { notification: notification! }));
      }, 'job-01jobid');
      await page.waitForURL(`${server.url}${notice.path}`);
      await expect.poll(async () => (await shown()).map((n) => n.tag), slow).toEqual(['job-other']);
      await context.close();
    });

    it('the Notifications page fits a phone and names every control', async () => {
      const { context, page } = await phone();
      await controlledPortal(page, `/t/${tenantId}/notifications`);
      await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
      await page.getByRole('heading', { name: /Push notifications|This device/ }).waitFor();
      await page.getByRole('heading', { name: 'Email' }).waitFor();
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      expect(await unlabelledControls(page)).toEqual([]);
      const emptyButtons = await page
        .locator('button')
        .evaluateAll(
          (buttons) => buttons.filter((b) => !(b.getAttribute('aria-label') || b.textContent?.trim())).length,
        );
      expect(emptyButtons).toBe(0);
      await screenshot(page, 'notifications');
      await context.close();
    });

    it('verifies an email address with the mailed code and turns job emails on', async () => {
      const { context, page } = await phone();
      await controlledPortal(page, `/t/${tenantId}/notifications`);
      const address = `pat@${tenantId}.test`;
      const optIn = page.getByRole('checkbox', { name: 'Email me when a job finishes' });
      await expect.poll(() => optIn.isDisabled()).toBe(true);
      await page.getByLabel('Email address').fill(address);
      await page.getByRole('button', { name: 'Send code' }).click();
      const mail = await inbox.waitFor((m) => m.to.includes(address));
      const code = /Enter (\d{6}) /.exec(mail.text)?.[1] ?? '';
      await page.getByLabel('Verification code').fill(code);
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText(`${address} — verified`).waitFor();
      // A controlled checkbox: it shows the new state once the server has stored it.
      await optIn.click();
      await expect.poll(() => optIn.isChecked()).toBe(true);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      expect(await unlabelledControls(page)).toEqual([]);
      await screenshot(page, 'notifications-email');
      const stored = await server.api('/v1/me/notifications', { token, tenant: tenantId });
      expect(await stored.json()).toMatchObject({
        optIn: { email: true },
        email: { address, verified: true },
      });
      await context.close();
    });
  },
);

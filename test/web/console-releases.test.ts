import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishRelease, tenantRecord } from '../releases/fixtures.ts';
import { newTenantId, type TestServer } from '../support/server.ts';
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

describe.skipIf(!hasChromium)(
  `console: releases and upgrades in Chromium${skipReason}`,
  { timeout: 90_000 },
  () => {
    let server: TestServer;
    let browser: Browser;

    beforeAll(async () => {
      ({ server, browser } = await startWebSession({ SILOPOOL_WORKERS: '1' }));
    });

    afterAll(() => stopWebSession(server, browser));

    it('lists releases, starts an upgrade and follows its waves to the end', async () => {
      const ids = [newTenantId('web'), newTenantId('web')];
      for (const id of ids) await server.createTenant(id, { placement: 'dedicated' });
      publishRelease(server.dataDir, 'r2', {
        models: { finance: { version: '1.2.0', body: "version: '1.2.0'" } },
      });
      publishRelease(server.dataDir, 'r3-broken', {
        models: { finance: { version: '1.3.0', body: "version: '1.3.0', sheetNames: ['Other']" } },
      });
      const page = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent('/console')}#token=${server.operatorToken}`,
      );
      await page.waitForURL('**/console');
      await page.getByRole('link', { name: 'Releases' }).click();
      await page.getByRole('heading', { name: 'Releases', level: 1 }).waitFor();
      await page.getByRole('cell', { name: 'finance 1.2.0, funds 1.1.1' }).waitFor();
      expect(await page.getByRole('alert').textContent()).toContain('r3-broken');
      expect(await unlabelledControls(page)).toEqual([]);
      await page.getByLabel('Seconds each wave is watched').fill('0');
      await page.getByRole('button', { name: 'Roll out r2' }).click();
      const progress = page.getByRole('progressbar', { name: 'Upgrade to r2 progress' });
      await progress.waitFor();
      await page.getByText('wave 1 (canary): 1 tenant').waitFor();
      await page.locator('.operation .badge-succeeded').first().waitFor({ timeout: 60_000 });
      expect(await progress.getAttribute('value')).toBe('100');
      await screenshot(page, 'console-releases');
      for (const id of ids) expect((await tenantRecord(server, id)).release).toBe('r2');
      await page.setViewportSize(VIEWPORTS.phone);
      expect(await horizontalOverflow(page)).toBe(0);
    });
  },
);

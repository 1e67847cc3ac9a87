import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, type TestServer, waitForJob } from '../support/server.ts';
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
  `console metrics history and alerts in Chromium${skipReason}`,
  { timeout: 60_000 },
  () => {
    let server: TestServer;
    let browser: Browser;
    const tenant = newTenantId('charted');

    beforeAll(async () => {
      ({ server, browser } = await startWebSession({ SILOPOOL_METRICS_INTERVAL_SEC: '1' }));
      const { apiKey } = await server.createTenant(tenant, { name: 'Charted Ltd' });
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { revenue: 1000 } }),
      });
      await waitForJob(server, apiKey, ((await res.json()) as { id: string }).id);
      await new Promise((r) => setTimeout(r, 2500));
    });

    afterAll(() => stopWebSession(server, browser));

    async function metricsPage(viewport: { width: number; height: number }): Promise<Page> {
      const page = await (await browser.newContext({ viewport })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent('/console/metrics')}#token=${server.operatorToken}`,
      );
      await page.getByRole('heading', { name: 'Metrics', level: 1 }).waitFor();
      return page;
    }

    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      it(`charts a tenant's finished jobs from the server's history and lists alerts (${name})`, async () => {
        const page = await metricsPage(viewport);
        await page.getByRole('heading', { name: 'Alerts', level: 2 }).waitFor();
        await page.getByLabel('Metric').selectOption('jobs_succeeded');
        await page.getByLabel('Tenant').selectOption(tenant);
        const caption = page.locator('figcaption', { hasText: `tenant ${tenant}` });
        await caption.waitFor();
        expect(await caption.textContent()).toContain('1 in this period');
        // Platform-only metrics disable the tenant filter rather than show an empty chart.
        await page.getByLabel('Metric').selectOption('data_dir_free_ratio');
        expect(await page.getByLabel('Tenant').isDisabled()).toBe(true);
        await page.locator('figcaption', { hasText: 'the whole platform' }).waitFor();
        expect(await unlabelledControls(page)).toEqual([]);
        expect(await horizontalOverflow(page)).toBe(0);
        await screenshot(page, 'console-metrics');
      });
    }

    it('is reached from the console navigation', async () => {
      const page = await metricsPage(VIEWPORTS.desktop);
      await page.getByRole('link', { name: 'Tenants' }).first().click();
      await page.getByRole('link', { name: 'Metrics' }).click();
      await page.getByRole('heading', { name: 'Metrics', level: 1 }).waitFor();
    });
  },
);

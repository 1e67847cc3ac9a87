import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromToday } from '../support/proration.ts';
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

describe.skipIf(!hasChromium)(`billing pages in Chromium${skipReason}`, { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let tenantId: string;
  let otherId: string;
  let token: string;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    tenantId = newTenantId('billui');
    otherId = newTenantId('billother');
    await server.createTenant(tenantId, { name: 'Billed Co' });
    await server.createTenant(otherId, { name: 'Other Co', plan: 'enterprise' });
    token = await server.mintToken({ tenants: [tenantId], user: 'alice@example.com' });
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token,
      tenant: tenantId,
      body: JSON.stringify({ input: { revenue: 2_000_000 } }),
    });
    await waitForJob(server, token, ((await res.json()) as { id: string }).id, { tenant: tenantId });
  });

  afterAll(() => stopWebSession(server, browser));

  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    it(`console: revenue, cost and margin per tenant, a chart, statements and plans (${name})`, async () => {
      const page = await (await browser.newContext({ viewport })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent('/console/billing')}#token=${server.operatorToken}`,
      );
      await page.getByRole('heading', { name: 'Billing', level: 1 }).waitFor();
      const row = page.getByRole('row').filter({ hasText: tenantId });
      await row.waitFor();
      // Standard's $500.00 a month, enterprise's $12,000.00 for the other tenant: each for the days from
      // today, its day of creation (docs/billing.md).
      const usd = (minor: number) =>
        new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(minor / 100);
      expect(await row.textContent()).toContain(usd(fromToday(50_000)));
      expect(await page.getByRole('row').filter({ hasText: otherId }).textContent()).toContain(
        usd(fromToday(1_200_000)),
      );
      await page.getByText('Revenue, cost and margin per month (USD)').waitFor();
      await page.getByRole('cell', { name: 'Enterprise', exact: true }).first().waitFor();
      await row.getByRole('button', { name: tenantId }).click();
      await page.getByRole('heading', { name: `Statements of ${tenantId}` }).waitFor();
      await page.getByText('Standard base fee').first().waitFor();
      expect(await unlabelledControls(page)).toEqual([]);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await screenshot(page, `console-billing-${name}`);
    });

    it(`portal: the tenant's usage against its plan and its statements, only its own (${name})`, async () => {
      const page = await (await browser.newContext({ viewport })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent(`/t/${tenantId}/billing`)}#token=${token}`,
      );
      await page.getByRole('heading', { name: 'Usage and billing', level: 1 }).waitFor();
      // The usage table's row: a statement's line ("jobs: 1 used, …") also holds the word, and a statement
      // that rendered before the usage table was read instead under load.
      const jobs = page
        .getByRole('table', { name: 'Usage this month against the plan' })
        .getByRole('row')
        .filter({ hasText: 'Jobs' })
        .first();
      await jobs.waitFor();
      // One finished job of 50,000 included.
      expect((await jobs.textContent())?.replace(/\s+/g, ' ')).toMatch(/Jobs\s*1\s*50,000/);
      await page.getByText('Standard base fee').first().waitFor();
      expect(await page.content()).not.toContain(otherId);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await screenshot(page, `portal-billing-${name}`);
    });
  }
});

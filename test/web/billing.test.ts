import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
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
  let euroId: string;
  let token: string;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    tenantId = newTenantId('billui');
    otherId = newTenantId('billother');
    await server.createTenant(tenantId, { name: 'Billed Co' });
    await server.createTenant(otherId, { name: 'Other Co', plan: 'enterprise' });
    // A tenant billed in EUR: the Platform rows are per currency (docs/billing.md, "Platform totals").
    euroId = newTenantId('billeur');
    const euro = { ...DEFAULT_PLANS.plans[1]!, id: 'euro', name: 'Euro', currency: 'EUR', baseFee: 40_000 };
    const put = await server.api('/v1/admin/billing/plans', {
      method: 'PUT',
      token: server.operatorToken,
      body: JSON.stringify({ plans: [...DEFAULT_PLANS.plans, euro] }),
    });
    expect(put.status).toBe(200);
    await server.createTenant(euroId, { name: 'Euro Co' });
    const changed = await server.api(`/v1/admin/tenants/${euroId}/plan`, {
      method: 'POST',
      token: server.operatorToken,
      body: JSON.stringify({ planId: 'euro', effective: `${new Date().toISOString().slice(0, 7)}-01` }),
    });
    expect(changed.status).toBe(200);
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
      // One Platform row per currency: the euro revenue on its own row, no margin (no exchange rate), and
      // the USD row's revenue is the two USD tenants' alone.
      const eur = (minor: number) =>
        new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(minor / 100);
      const eurRow = page.getByRole('row').filter({ hasText: 'Platform (EUR)' });
      expect(await eurRow.textContent()).toContain(eur(fromToday(40_000)));
      expect(await eurRow.textContent()).toContain('n/a');
      expect(await page.getByRole('row').filter({ hasText: 'Platform (USD)' }).textContent()).toContain(
        usd(fromToday(50_000) + fromToday(1_200_000)),
      );
      await page.getByRole('row', { name: /Platform cost \(all tenants\)/ }).waitFor();
      await page.getByText('Tenants billed in EUR are not in the chart', { exact: false }).waitFor();
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

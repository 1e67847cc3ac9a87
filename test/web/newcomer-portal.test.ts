import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import {
  hasChromium,
  heightOfHiddenContent,
  horizontalOverflow,
  screenshot,
  skipReason,
  startWebSession,
  stopWebSession,
  tenantWithUser,
  unnamedButtons,
  VIEWPORTS,
} from './browser.ts';

/** The edges a newcomer hit in the portal (issue 16), at desktop and phone width. */
describe.skipIf(!hasChromium)(`portal rough edges in Chromium${skipReason}`, { timeout: 150_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let tenantId: string;
  let token: string;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    ({ tenantId, token } = await tenantWithUser(server, 'edges', 'Edges', 'newcomer@example.com'));
  });

  afterAll(() => stopWebSession(server, browser));

  async function signedIn(viewport: { width: number; height: number }, path: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${server.url}/login?next=${encodeURIComponent(path)}#token=${token}`);
    await page.waitForURL(`**${path}`);
    return page;
  }

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`${size}: array controls are named text buttons and items read "Value per period 2"`, async () => {
      const page = await signedIn(viewport, `/t/${tenantId}/models/funds`);
      await page.getByRole('button', { name: 'Run model' }).waitFor();
      expect(await page.locator('.glyphicon').count()).toBe(0);
      expect(await unnamedButtons(page)).toEqual([]);
      await expect(page.getByLabel('Value per period 2 (%)').inputValue()).resolves.toBe('33.3 %');
      expect(await page.getByText(/per period-\d/).count()).toBe(0);
      const before = await page.getByLabel(/^Value per period \d/).count();
      await page.getByRole('button', { name: 'Add a value to Rate of contribution (RC) (%)' }).click();
      await page.getByLabel(`Value per period ${before + 1} (%)`).waitFor();
      await page.getByRole('button', { name: 'Remove value per period 1' }).click();
      await expect(page.getByLabel(/^Value per period \d/).count()).resolves.toBe(before);
      await expect(page.getByLabel('Value per period 1 (%)').inputValue()).resolves.toBe('33.3 %');
      // Every button is drawn with text: none is an empty box.
      for (const b of await page.locator('form button').all()) {
        expect((await b.textContent())?.trim()).not.toBe('');
      }
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      await screenshot(page, 'edges-funds-array');
      await page.context().close();
    });

    it(`${size}: browser-side errors name their field once, and focus the first of them`, async () => {
      const page = await signedIn(viewport, `/t/${tenantId}/models/funds`);
      await page.getByRole('button', { name: 'Run model' }).waitFor();
      await page.getByLabel(/^Commitment/).fill('');
      await page.getByLabel(/^Fee rate \(%\)/).fill('');
      await page.getByRole('button', { name: 'Run model' }).click();
      const summary = page.locator('#error-summary');
      await summary.waitFor();
      const lines = (await summary.locator('li').allTextContents()).map((t) => t.trim());
      expect(lines).toContain('Commitment is required');
      // A nested field is named with its group.
      expect(lines).toContain('Management fee: Fee rate is required');
      expect(lines.filter((l) => l === 'is required')).toEqual([]);
      expect(new Set(lines).size).toBe(lines.length);
      await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('root_commitment');
      await page.context().close();
    });

    it(`${size}: a server-side refusal moves focus and the view to the error summary`, async () => {
      const page = await signedIn(viewport, `/t/${tenantId}/models/finance`);
      await page.getByRole('button', { name: 'Run model' }).waitFor();
      await page.getByLabel(/Discount rate \(WACC\)/).fill('5%');
      await page.getByLabel(/Terminal growth/).fill('6');
      await page.getByRole('button', { name: 'Run model' }).click();
      const summary = page.locator('#error-summary');
      await summary.waitFor();
      await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('error-summary');
      const box = await summary.boundingBox();
      expect(box!.y).toBeGreaterThanOrEqual(0);
      expect(box!.y).toBeLessThan(viewport.height);
      // Said once in the summary (the field's own line under it is the inline error), not again in the banner.
      expect(await summary.getByText(/must be below discountRate/).count()).toBe(1);
      expect(
        await page
          .locator('#form-problem')
          .getByText(/must be below discountRate/)
          .count(),
      ).toBe(0);
      await screenshot(page, 'edges-server-error');
      await page.context().close();
    });

    it(`${size}: results use one format per quantity, chart the Monte Carlo percentiles, leave no blank page`, async () => {
      const res = await server.api('/v1/models/funds/jobs', {
        method: 'POST',
        token,
        tenant: tenantId,
        body: JSON.stringify({ input: { simulations: 300 } }),
      });
      const { id } = (await res.json()) as { id: string };
      const page = await signedIn(viewport, `/t/${tenantId}/jobs/${id}`);
      await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 30_000 });
      const figures = page.locator('dl.summary > div');
      await figures.first().waitFor();
      const shown = new Map<string, string>();
      for (const f of await figures.all())
        shown.set((await f.locator('dt').textContent())!, (await f.locator('dd').textContent())!);
      expect(shown.get('Net IRR')).toMatch(/^-?\d+\.\d\d %$/);
      expect(shown.get('TVPI')).toMatch(/^\d+\.\d\d×$/);
      // Every amount with its currency code and the same two decimals.
      for (const label of ['Paid in', 'Distributions', 'NAV', 'Total fees'])
        expect(shown.get(label), label).toMatch(/^[A-Z]{3}\s-?[\d,]+\.\d\d$/);
      for (const name of ['TVPI across Monte Carlo paths', 'Net IRR across Monte Carlo paths']) {
        const chart = page.locator('figure.chart').filter({ hasText: name });
        await chart.locator('.recharts-bar-rectangle').first().waitFor();
        expect(await chart.locator('table tbody tr').count()).toBe(7);
      }
      await page.locator('figure.chart-fan .recharts-area').first().waitFor();
      expect(await heightOfHiddenContent(page)).toBe(0);
      expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
      expect(await unnamedButtons(page)).toEqual([]);
      await screenshot(page, 'edges-funds-job');
      await page.context().close();
    });

    it(`${size}: a long Monte Carlo run shows a progress bar of paths, not only a spinner`, async () => {
      // Submitted from the form, so the job page is open from the start of the run (a few seconds).
      const page = await signedIn(viewport, `/t/${tenantId}/models/funds`);
      await page.getByLabel(/Monte Carlo paths/).fill('100000');
      await page.getByRole('button', { name: 'Run model' }).click();
      await page.waitForURL(/\/jobs\/j_/);
      const bar = page.getByRole('progressbar', { name: 'Model progress' });
      await bar.waitFor({ timeout: 60_000 });
      expect(await bar.getAttribute('max')).toBe('100000');
      await page.getByText(/of 100,000 paths \(\d+ %\)/).waitFor();
      await screenshot(page, 'edges-job-progress');
      await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 60_000 });
      expect(await bar.count()).toBe(0);
      await page.context().close();
    });
  }
});

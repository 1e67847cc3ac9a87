import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, type TestServer } from '../support/server.ts';
import {
  hasChromium,
  horizontalOverflow,
  screenshot,
  skipReason,
  startWebSession,
  stopWebSession,
  tenantWithUser,
  unlabelledControls,
  VIEWPORTS,
} from './browser.ts';

const FINANCE_TITLE = 'Company projection and valuation';

/** The shown value of a key figure by its label. */
function figure(page: Page, label: string): Promise<string | null> {
  return page
    .locator('dl.summary > div')
    .filter({ has: page.getByText(label, { exact: true }) })
    .locator('dd')
    .textContent();
}

describe.skipIf(!hasChromium)(`tenant portal in Chromium${skipReason}`, { timeout: 60_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let tenantId: string;
  let token: string;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    ({ tenantId, token } = await tenantWithUser(server, 'portal', 'Acme Portal', 'alice@example.com'));
  });

  afterAll(() => stopWebSession(server, browser));

  async function signedInPage(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    const page = await context.newPage();
    // The first-start link form: the token travels in the fragment, never to the server.
    await page.goto(`${server.url}/login#token=${token}`);
    await page.waitForURL(`**/t/${tenantId}/models`);
    expect(page.url()).not.toContain('token=');
    return page;
  }

  it('submits a job through the generated form, follows it live and downloads the workbook', async () => {
    const page = await signedInPage(VIEWPORTS.desktop);
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    await screenshot(page, 'portal-models');

    await page.getByRole('link', { name: FINANCE_TITLE }).click();
    await page.getByRole('heading', { name: FINANCE_TITLE, level: 1 }).waitFor();
    // Titles, units, help text and defaults come from the tenant's schema.
    // Rates are fractions in the schema (x-unit) and percentages in the form; the API still gets fractions.
    const discount = page.getByLabel(/Discount rate \(WACC\) \(%\)/);
    await expect(discount.inputValue()).resolves.toBe('10 %');
    await discount.fill('7');
    await page
      .locator('#root_discountRate__understood')
      .filter({ hasText: 'Understood as 7 % (0.07).' })
      .waitFor();
    expect(await discount.getAttribute('aria-describedby')).toContain('root_discountRate__understood');
    await expect(page.getByText('Annual weighted average cost of capital.').isVisible()).resolves.toBe(true);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'portal-form');

    await page.getByLabel(/Projection years/).fill('7');
    await page.getByRole('button', { name: 'Run model' }).click();
    await page.waitForURL(/\/jobs\/j_/);
    // The status arrives over SSE; the page never reloads.
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    await page.getByRole('heading', { name: 'Key results' }).waitFor();
    await expect(page.getByText('Enterprise value').isVisible()).resolves.toBe(true);
    const jobId = page.url().split('/').pop()!;
    const sent = (await (await server.api(`/v1/jobs/${jobId}`, { token, tenant: tenantId })).json()) as {
      input: { discountRate: number };
    };
    expect(sent.input.discountRate).toBe(0.07);
    // Money in the job's currency (the form's default, USD).
    await expect(figure(page, 'Enterprise value')).resolves.toMatch(/^USD\s[\d,]+\.\d\d$/);
    await page.locator('figure.chart svg').first().waitFor();
    await expect(page.locator('figure.chart figcaption').first().textContent()).resolves.toBe(
      'Free cash flow',
    );
    await screenshot(page, 'portal-job');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /Download workbook/ }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.xlsx$/);
    const file = await download.path();
    // An xlsx is a zip: it starts with "PK".
    expect(readFileSync(file).subarray(0, 2).toString()).toBe('PK');

    // Re-run with edits starts from this job's input.
    await page.getByRole('link', { name: 'Re-run with edits' }).click();
    await page.getByRole('heading', { name: FINANCE_TITLE, level: 1 }).waitFor();
    await expect(page.getByLabel(/Projection years/).inputValue()).resolves.toBe('7');

    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    await page.locator('tbody tr').first().waitFor();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No jobs match these filters.').waitFor();
    await page.getByLabel('Status').selectOption('succeeded');
    await page.locator('tbody tr').first().waitFor();
    await screenshot(page, 'portal-jobs');
    await page.context().close();
  });

  it("runs the fund model and charts the fund's J-curve", async () => {
    const page = await signedInPage(VIEWPORTS.desktop);
    const models = (await (await server.api('/v1/models', { token, tenant: tenantId })).json()) as {
      items: { name: string; title: string }[];
    };
    const funds = models.items.find((m) => m.name === 'funds');
    expect(funds).toBeDefined();
    await page.getByRole('link', { name: funds!.title }).click();
    await page.getByRole('button', { name: 'Run model' }).waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'portal-funds-form');
    await page.getByLabel(/Monte Carlo paths/).fill('300');
    await page.getByRole('button', { name: 'Run model' }).click();
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    const curve = page.locator('figure.chart').filter({ hasText: 'J curve' });
    await curve.locator('svg').waitFor();
    // The J-curve is a line (cumulative), not bars.
    expect(await curve.locator('.recharts-line').count()).toBe(1);
    // The Monte Carlo fan: two shaded bands and the median line, with its numbers in a table.
    const fan = page.locator('figure.chart-fan');
    await fan.locator('.recharts-area').first().waitFor();
    expect(await fan.locator('.recharts-area').count()).toBe(2);
    expect(await fan.locator('.recharts-line').count()).toBe(1);
    expect(await fan.locator('table tbody tr').count()).toBe(12);
    // Rates as percentages and multiples with ×, from the model's summary units.
    await expect(figure(page, 'Net IRR')).resolves.toMatch(/^-?[\d.]+ %$/);
    await expect(figure(page, 'TVPI')).resolves.toMatch(/^[\d.]+×$/);
    await screenshot(page, 'portal-funds-job');
    await page.context().close();
  });

  it('asks before running an unusual rate, then shows the API warning on the job page', async () => {
    const page = await signedInPage(VIEWPORTS.desktop);
    await page.getByRole('link', { name: FINANCE_TITLE }).click();
    const discount = page.getByLabel(/Discount rate \(WACC\)/);
    await discount.fill('60');
    await page.getByRole('button', { name: 'Run model' }).click();
    const dialog = page.getByRole('alertdialog', { name: /unusual/ });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('Discount rate (WACC) is 60 % (0.6), above 50 % (0.5).');
    await screenshot(page, 'portal-form-confirm');
    // "Change them" goes back to the field, nothing is submitted.
    await dialog.getByRole('button', { name: 'Change them' }).click();
    await expect(discount.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    expect(page.url()).toMatch(/\/models\/finance$/);
    await page.getByRole('button', { name: 'Run model' }).click();
    await dialog.getByRole('button', { name: 'Run with these values' }).click();
    await page.waitForURL(/\/jobs\/j_/);
    const warnings = page.getByRole('region', { name: /warning/i });
    await warnings.waitFor();
    expect(await warnings.locator('[data-code="rate_implausible"]').textContent()).toContain('60 %');
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    await screenshot(page, 'portal-job-warnings');
    await page.context().close();
  });

  it('shows loan results, warnings and money in the job currency', async () => {
    const page = await signedInPage(VIEWPORTS.desktop);
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token,
      tenant: tenantId,
      body: JSON.stringify({
        input: {
          currency: 'EUR',
          revenueGrowth: 5,
          loan: { principal: 1_000_000, annualRate: 0.06, termMonths: 360, startDate: '2025-01-01' },
        },
      }),
    });
    expect(res.status).toBe(202);
    const job = (await res.json()) as { id: string; warnings: { code: string }[] };
    expect(job.warnings.map((w) => w.code)).toEqual(['rate_implausible']);
    await page.goto(`${server.url}/t/${tenantId}/jobs/${job.id}`);
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    // Excel's PMT example scaled: 1,000,000 at 6 % over 30 years is 5,995.51 a month.
    await expect(figure(page, 'Loan monthly payment')).resolves.toMatch(/^EUR\s5,995\.51$/);
    await expect(figure(page, 'Loan total interest')).resolves.toMatch(/^EUR\s1,158,38\d\.\d\d$/);
    const warnings = page.getByRole('region', { name: /warning/i });
    expect(await warnings.textContent()).toContain('500 %');
    await page.context().close();
  });

  it('shows an invalid value inline, from the schema and from the server', async () => {
    const page = await signedInPage(VIEWPORTS.desktop);
    await page.getByRole('link', { name: FINANCE_TITLE }).click();
    const discount = page.getByLabel(/Discount rate \(WACC\)/);
    await discount.fill('150');
    await discount.blur();
    // The schema's maximum, in the unit typed, next to its field (tied to it by aria-describedby).
    const inline = page.locator('#root_discountRate__error');
    await inline.waitFor();
    expect(await inline.textContent()).toContain('must be at most 100 %');
    expect(await discount.getAttribute('aria-describedby')).toContain('root_discountRate__error');
    await screenshot(page, 'portal-form-invalid');

    // A rule JSON Schema cannot express is checked by the server; its problem+json lands inline too.
    await discount.fill('5%');
    await page.getByLabel(/Terminal growth/).fill('6');
    await page.getByRole('button', { name: 'Run model' }).click();
    // Listed once, in the summary above the form that takes focus (test/web/newcomer-portal.test.ts).
    await page.locator('#error-summary').filter({ hasText: 'must be below discountRate' }).waitFor();
    const serverInline = page.locator('#root_terminalGrowth__error');
    await serverInline.waitFor();
    expect(await serverInline.textContent()).toContain('must be below discountRate');
    expect(page.url()).toMatch(/\/models\/finance$/);
    await page.context().close();
  });

  it('fits a phone screen', async () => {
    const page = await signedInPage(VIEWPORTS.phone);
    await screenshot(page, 'portal-models');
    await page.getByRole('link', { name: FINANCE_TITLE }).click();
    await page.getByRole('button', { name: 'Run model' }).waitFor();
    await screenshot(page, 'portal-form');
    await page.getByRole('button', { name: 'Run model' }).click();
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    await page.locator('figure.chart svg').first().waitFor();
    await screenshot(page, 'portal-job');
    // Nothing wider than the screen: no sideways scrolling of the page itself (tables scroll in their frame).
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'portal-jobs');
    await page.context().close();
  });

  it('a user with several tenants picks one; a bad token shows the problem on the login page', async () => {
    const second = newTenantId('portal');
    await server.createTenant(second, { name: 'Second Co' });
    const multi = await server.mintToken({ tenants: [tenantId, second], user: 'bob@example.com' });
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const page = await context.newPage();
    await page.goto(`${server.url}/login`);
    await page.getByLabel('Token or API key').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toMatch(/401/);
    await screenshot(page, 'login-error');

    await page.getByLabel('Token or API key').fill(multi);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Choose a tenant' }).waitFor();
    await screenshot(page, 'tenant-picker');
    await page.getByRole('link', { name: /Second Co/ }).click();
    await page.waitForURL(`**/t/${second}/models`);
    await page.getByRole('link', { name: FINANCE_TITLE }).waitFor();
    await context.close();
  });
});

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.ts';
import {
  hasChromium,
  skipReason,
  startWebSession,
  stopWebSession,
  tenantWithUser,
  VIEWPORTS,
} from './browser.ts';

declare global {
  interface Window {
    cspViolations?: string[];
  }
}

/**
 * Every page of the app under the server's Content-Security-Policy: a blocked script, style, image or
 * fetch shows as a `securitypolicyviolation` event in the page and as a console message; either fails.
 */
describe.skipIf(!hasChromium)(`Content-Security-Policy in Chromium${skipReason}`, { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let tenantId: string;
  let token: string;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    ({ tenantId, token } = await tenantWithUser(server, 'csp', 'CSP Co', 'csp@example.com'));
  });

  afterAll(() => stopWebSession(server, browser));

  /** A page that records CSP violations from its first script on, and the console's reports of them. */
  async function watchedPage(): Promise<{ page: Page; violations: () => Promise<string[]> }> {
    const context = await browser.newContext({ viewport: VIEWPORTS.desktop, acceptDownloads: true });
    await context.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.cspViolations?.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
      });
    });
    const page = await context.newPage();
    const console: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) console.push(message.text());
    });
    const violations = async () => [
      ...console,
      ...((await page.evaluate(() => window.cspViolations ?? []).catch(() => [])) as string[]),
    ];
    return { page, violations };
  }

  it('the response of the app carries the policy the browser enforces', async () => {
    const { page, violations } = await watchedPage();
    const response = await page.goto(`${server.url}/login`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(await violations()).toEqual([]);
    await page.context().close();
  });

  it('the portal runs a model, follows it live and charts the result with no violation', async () => {
    const { page, violations } = await watchedPage();
    await page.goto(`${server.url}/login#token=${token}`);
    await page.waitForURL(`**/t/${tenantId}/models`);
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    await page.getByRole('link', { name: 'Company projection and valuation' }).click();
    await page.getByRole('heading', { name: 'Company projection and valuation', level: 1 }).waitFor();
    await page.getByLabel(/Projection years/).fill('6');
    await page.getByRole('button', { name: 'Run model' }).click();
    await page.waitForURL(/\/jobs\/j_/);
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    await page.locator('figure.chart svg').first().waitFor();
    // Hovering draws Recharts' tooltip, which positions itself with inline styles.
    await page.locator('figure.chart svg').first().hover();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: /Download workbook/ }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/\.xlsx$/);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.locator('tbody tr').first().waitFor();
    expect(await violations()).toEqual([]);
    await page.context().close();
  });

  it('the run-model form checks values in the page without eval: a bad value, its inline error, the fix, the run', async () => {
    const { page, violations } = await watchedPage();
    const path = `/t/${tenantId}/models/finance`;
    await page.goto(`${server.url}/login?next=${encodeURIComponent(path)}#token=${token}`);
    await page.getByRole('button', { name: 'Run model' }).waitFor();
    // A rate per year instead of one rate: @rjsf asks the validator which choice the value fits.
    await page.getByLabel(/Kind of value for Revenue growth/).selectOption({ label: 'A value per period' });
    await page.getByLabel(/^Value per period 1/).fill('4');
    const years = page.getByLabel(/Projection years/);
    await years.fill('0');
    await years.blur();
    // A validator that compiled the schema would have been refused by now (`script-src` blocked `eval`).
    expect(await violations()).toEqual([]);
    const inline = page.locator('#root_years__error');
    await inline.waitFor();
    expect(await inline.textContent()).toContain('must be at least 1');
    // Submitting with the bad value is stopped in the page, with the field named in the summary.
    await page.getByRole('button', { name: 'Run model' }).click();
    await page.locator('#error-summary').filter({ hasText: 'Projection years must be at least 1' }).waitFor();
    expect(page.url()).toMatch(/\/models\/finance$/);
    // One projected year, as many as the rates per year given.
    await years.fill('1');
    await years.blur();
    await inline.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Run model' }).click();
    await page.waitForURL(/\/jobs\/j_/);
    await page.locator('.job-status .badge-succeeded').waitFor({ timeout: 20_000 });
    expect(await violations()).toEqual([]);
    await page.context().close();
  });

  it('the operator console (tenants, a tenant, usage chart, queues, advisor) has no violation', async () => {
    const { page, violations } = await watchedPage();
    await page.goto(
      `${server.url}/login?next=${encodeURIComponent('/console')}#token=${server.operatorToken}`,
    );
    await page.waitForURL('**/console');
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'CSP Co' }).click();
    await page.getByRole('heading', { name: 'CSP Co', level: 1 }).waitFor();
    for (const [path, heading] of [
      ['/console/usage', /Usage/],
      ['/console/queues', /Queues/],
      ['/console/advisor', /advisor/i],
      ['/console/tenants/new', /New tenant/],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    }
    expect(await violations()).toEqual([]);
    await page.context().close();
  });

  it('the API documentation (Swagger UI at /docs) renders and expands an operation with no violation', async () => {
    const { page, violations } = await watchedPage();
    await page.goto(`${server.url}/docs`);
    await page.locator('.swagger-ui .opblock').first().waitFor({ timeout: 20_000 });
    await page.locator('.swagger-ui .opblock-summary').first().click();
    await page.locator('.swagger-ui .opblock-body').first().waitFor();
    expect(await violations()).toEqual([]);
    await page.context().close();
  });

  it('an injected inline script is refused and reported', async () => {
    const { page, violations } = await watchedPage();
    await page.goto(`${server.url}/login`);
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.injectedRan = true';
      document.head.append(script);
      return (window as unknown as { injectedRan?: boolean }).injectedRan === true;
    });
    expect(ran).toBe(false);
    await expect.poll(async () => (await violations()).some((v) => /script-src/.test(v))).toBe(true);
    await page.context().close();
  });

  it('a page of the app cannot be framed by another origin', async () => {
    const { page } = await watchedPage();
    const blocked: string[] = [];
    page.on('console', (m) => blocked.push(m.text()));
    await page.setContent(`<iframe src="${server.url}/login"></iframe>`);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    await expect
      .poll(() => blocked.some((t) => /frame-ancestors|Refused to (display|frame)/i.test(t)), {
        timeout: 10_000,
      })
      .toBe(true);
    // The framed document never ran the app.
    expect(
      await frame
        ?.locator('#root')
        .count()
        .catch(() => 0),
    ).toBe(0);
    await page.context().close();
  });
});

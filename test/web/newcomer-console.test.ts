import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN } from '../../src/core/tenant.ts';
import { newTenantId, type TestServer } from '../support/server.ts';
import {
  hasChromium,
  horizontalOverflow,
  screenshot,
  skipReason,
  startWebSession,
  stopWebSession,
  unnamedButtons,
  VIEWPORTS,
  wordPerLineCells,
} from './browser.ts';

/** The edges a newcomer hit in the console (issue 16): tables on a phone, forms, queues, operations. */
describe.skipIf(!hasChromium)(`console rough edges in Chromium${skipReason}`, { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let busy: string;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    busy = newTenantId('busy');
    const { apiKey } = await server.createTenant(busy, { name: 'A Tenant With A Long Name' });
    await server.api('/v1/models/finance/jobs', { method: 'POST', token: apiKey, body: '{"input":{}}' });
  });

  afterAll(() => stopWebSession(server, browser));

  async function operatorPage(viewport: { width: number; height: number }, next: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}#token=${server.operatorToken}`);
    return page;
  }

  /** Every table sits in a labelled region that scrolls it, with its first column pinned. */
  async function checkTables(page: Page): Promise<void> {
    const frames = await page.locator('.table-wrap').all();
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) {
      expect(await frame.getAttribute('aria-label')).toBeTruthy();
      expect(await frame.getAttribute('tabindex')).toBe('0');
      const sticky = await frame
        .locator('tbody tr > :first-child')
        .first()
        .evaluate((cell) => getComputedStyle(cell).position);
      expect(sticky).toBe('sticky');
    }
    expect(await wordPerLineCells(page)).toEqual([]);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    expect(await unnamedButtons(page)).toEqual([]);
  }

  for (const [size, viewport] of Object.entries(VIEWPORTS)) {
    it(`${size}: the tenant list, advisor, usage and queues keep every column readable`, async () => {
      const page = await operatorPage(viewport, '/console');
      const tenants = page.getByRole('region', { name: 'Tenants' });
      await tenants.getByRole('row').filter({ hasText: busy }).waitFor();
      await checkTables(page);
      // Jobs, Failed and Cost are reached by scrolling the table, not lost off the page's edge.
      const cost = tenants.getByRole('columnheader', { name: 'Cost' });
      await cost.scrollIntoViewIfNeeded();
      const box = (await cost.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, 'edges-console-tenants');

      for (const [link, heading] of [
        ['Advisor', 'Placement advisor'],
        ['Usage', 'Usage and cost'],
        ['Queues', 'Queues'],
      ] as const) {
        await page.getByRole('link', { name: link, exact: true }).click();
        await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
        await page.locator('.table-wrap tbody tr').first().waitFor();
        await checkTables(page);
        await screenshot(page, `edges-console-${link.toLowerCase()}`);
      }
      // The queues table has no column of empty cells (the actions column only when a queue has dead letters).
      const queues = page.getByRole('region', { name: 'Queue depths' });
      const headers = await queues.locator('thead th').count();
      for (let column = 0; column < headers; column++) {
        const cells = await queues.locator(`tbody tr > :nth-child(${column + 1})`).allTextContents();
        expect(
          cells.some((c) => c.trim() !== ''),
          `column ${column + 1} is empty`,
        ).toBe(true);
      }
      await page.context().close();
    });
  }

  it('phone: a tenant page shows a running move in its operations, and its tables fit', async () => {
    const id = newTenantId('mover');
    await server.createTenant(id, { name: 'Mover' });
    const page = await operatorPage(VIEWPORTS.phone, `/console/tenants/${id}`);
    await page.getByRole('heading', { name: 'Mover', level: 1 }).waitFor();
    await page.getByText('No operation yet.').waitFor();
    await page.getByRole('button', { name: 'Promote to dedicated' }).click();
    const move = page
      .getByRole('region', { name: 'Operations' })
      .getByRole('row')
      .filter({ hasText: 'Placement move (shared → dedicated)' });
    // The operation is listed while it runs, not only once it has finished.
    await move.filter({ hasText: 'running' }).waitFor();
    await move.filter({ hasText: 'succeeded' }).waitFor({ timeout: 30_000 });
    await checkTables(page);
    await screenshot(page, 'edges-console-tenant');
    await page.context().close();
  });

  it('new tenant: the default plan is the API and CLI default; a refusal focuses its summary, naming fields', async () => {
    const page = await operatorPage(VIEWPORTS.phone, '/console/tenants/new');
    await page.getByRole('heading', { name: 'New tenant', level: 1 }).waitFor();
    await expect(page.getByLabel('Plan').inputValue()).resolves.toBe(DEFAULT_PLAN);
    // Browser-side: the missing field is named, once, and takes focus.
    await page.getByLabel('Tenant id').fill(newTenantId('named'));
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByText('Name is required').waitFor();
    expect(await page.getByText('Name is required').count()).toBe(1);
    await expect(
      page.getByLabel('Name', { exact: true }).evaluate((el) => el === document.activeElement),
    ).resolves.toBe(true);
    await page.getByLabel('Tenant id').fill('Bad_Id');
    await page.getByLabel('Name', { exact: true }).fill('Bad');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const banner = page.getByRole('alert');
    await banner.waitFor();
    await expect(banner.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    expect(await banner.textContent()).toContain('Tenant id');
    const box = (await banner.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeLessThan(VIEWPORTS.phone.height);
    expect(await unnamedButtons(page)).toEqual([]);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await page.context().close();
  });
});

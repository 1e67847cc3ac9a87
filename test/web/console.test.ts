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
  unlabelledControls,
  VIEWPORTS,
} from './browser.ts';

describe.skipIf(!hasChromium)(`operator console in Chromium${skipReason}`, { timeout: 60_000 }, () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
  });

  afterAll(() => stopWebSession(server, browser));

  async function operatorPage(viewport: { width: number; height: number }, next = '/'): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}#token=${server.operatorToken}`);
    return page;
  }

  it('creates a tenant with rules, formatting and limits; its users see the rules in their form', async () => {
    const page = await operatorPage(VIEWPORTS.desktop);
    await page.waitForURL('**/console');
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'New tenant' }).click();
    const id = newTenantId('ui');
    await page.getByLabel('Tenant id').fill(id);
    await page.getByLabel('Name', { exact: true }).fill('Created In The UI');
    await page.getByLabel('Plan').selectOption('standard');
    await page.getByLabel('Company name').fill('Created GmbH');
    await page.getByLabel('Currency', { exact: true }).fill('EUR');
    await page.getByLabel('Max running jobs').fill('3');
    await page
      .getByLabel('Rules by model (JSON)')
      .fill(JSON.stringify({ finance: { fixed: { taxRate: 0.3 } } }));
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'console-new-tenant');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    const key = page.getByTestId('api-key');
    await key.waitFor();
    expect(await key.textContent()).toMatch(/\S{20,}/);

    await page.getByRole('link', { name: `Open ${id}` }).click();
    await page.getByRole('heading', { name: 'Created In The UI', level: 1 }).waitFor();
    expect(await page.getByLabel('Max running jobs').inputValue()).toBe('3');
    await page.getByLabel('Company name').fill('Renamed GmbH');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();

    const tenant = (await (
      await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })
    ).json()) as {
      config: { formatting: { companyName?: string }; limits: { maxRunningJobs?: number } };
    };
    expect(tenant.config.formatting.companyName).toBe('Renamed GmbH');
    expect(tenant.config.limits.maxRunningJobs).toBe(3);

    // Dedicated function settings: a value the platform refuses is shown at its field, nothing is saved.
    await page.getByLabel('Memory (MB)').fill('64');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('must be between 128 and 10240').first().waitFor();
    expect(await page.getByLabel('Memory (MB)').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Memory (MB)').fill('2048');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const withFunction = (await (
      await server.api(`/v1/admin/tenants/${id}`, { token: server.operatorToken })
    ).json()) as { config: { function?: { memoryMb?: number } } };
    expect(withFunction.config.function?.memoryMb).toBe(2048);

    // A fixed field is the tenant's decision: its users do not see it in the form.
    const userToken = await server.mintToken({ tenants: [id], user: 'carol@example.com' });
    const portal = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
    await portal.goto(
      `${server.url}/login?next=${encodeURIComponent(`/t/${id}/models/finance`)}#token=${userToken}`,
    );
    await portal.getByLabel(/Discount rate/).waitFor();
    expect(await portal.getByLabel(/Tax rate/).count()).toBe(0);
    await portal.context().close();
    await page.context().close();
  });

  it("lists a tenant's API keys without secrets, rotates and revokes them", async () => {
    const id = newTenantId('keys');
    const { apiKey } = await server.createTenant(id, { name: 'Keyed Co' });
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(200);
    const page = await operatorPage(VIEWPORTS.desktop, `/console/tenants/${id}`);
    page.on('dialog', (dialog) => dialog.accept());
    const table = page.getByRole('table', { name: 'API keys' });
    const prefix = apiKey.slice(0, `sp_${id}_`.length + 4);
    await table.getByRole('row').filter({ hasText: prefix }).waitFor();
    expect(await table.getByRole('row').count()).toBe(2);
    expect(await page.content()).not.toContain(apiKey);
    expect(await table.textContent()).not.toContain('never');
    expect(await unlabelledControls(page)).toEqual([]);

    await page.getByRole('button', { name: `Rotate ${prefix}` }).click();
    const shown = page.getByTestId('new-api-key');
    await shown.waitFor();
    const fresh = (await shown.textContent())!.trim();
    expect(fresh).toMatch(new RegExp(`^sp_${id}_`));
    await page.getByRole('status').filter({ hasText: 'is revoked' }).waitFor();
    expect((await server.api('/v1/jobs', { token: apiKey })).status).toBe(401);
    expect((await server.api('/v1/jobs', { token: fresh })).status).toBe(200);
    await screenshot(page, 'console-tenant-keys');

    const freshPrefix = fresh.slice(0, prefix.length);
    await table.getByRole('row').filter({ hasText: freshPrefix }).waitFor();
    await page.getByRole('button', { name: `Revoke ${freshPrefix}` }).click();
    await page.getByText('No working key.').waitFor();
    expect((await server.api('/v1/jobs', { token: fresh })).status).toBe(401);
    await page.context().close();
  });

  it('promotes a tenant to dedicated and shows the move progress step by step', async () => {
    const id = newTenantId('move');
    await server.createTenant(id, { name: 'Moving Co' });
    const page = await operatorPage(VIEWPORTS.desktop, `/console/tenants/${id}`);
    await page.getByRole('heading', { name: 'Moving Co', level: 1 }).waitFor();
    await page.getByText('Currently shared').waitFor();
    await page.getByRole('button', { name: 'Promote to dedicated' }).click();

    // The progress bar and the step list appear while the operation runs, then it reports success.
    // A refused move shows its problem instead; fail with that text rather than a timeout.
    await page.locator('progress, [role=alert]').first().waitFor();
    const refused = page.getByRole('alert');
    if (await refused.count())
      throw new Error(`The move was refused: ${await refused.first().textContent()}`);
    const progress = page.getByRole('progressbar', { name: 'Move progress' });
    await progress.waitFor();
    await page.locator('.steps li').first().waitFor();
    await page.locator('.operation').getByText('Move succeeded').waitFor({ timeout: 30_000 });
    expect(await progress.getAttribute('value')).toBe('100');
    const steps = await page.locator('.steps li').allTextContents();
    expect(steps.length).toBeGreaterThan(1);
    for (const step of steps) expect(step).toContain('done');
    await page.getByText('Currently dedicated').waitFor();
    // The tenant's operations list records the move.
    const history = page.getByRole('table', { name: 'Operations' });
    await history
      .getByRole('row')
      .filter({ hasText: 'Placement move (shared → dedicated)' })
      .filter({ hasText: 'succeeded' })
      .waitFor();
    await screenshot(page, 'console-tenant-promoted');

    await page.getByRole('link', { name: 'Tenants', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: id });
    await row.waitFor();
    expect(await row.textContent()).toContain('dedicated');
    await screenshot(page, 'console-tenants');
    await page.context().close();
  });

  it('shows queues and usage, and fits a phone screen', async () => {
    const id = newTenantId('busy');
    const { apiKey } = await server.createTenant(id, { name: 'Busy Co' });
    await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      tenant: id,
      body: '{"input":{}}',
    });

    const page = await operatorPage(VIEWPORTS.desktop, '/console/queues');
    await page.getByRole('heading', { name: 'Queues', level: 1 }).waitFor();
    await page.locator('table, .empty').first().waitFor();
    await screenshot(page, 'console-queues');
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByRole('heading', { name: 'Usage and cost' }).waitFor();
    await page.locator('table, .empty').first().waitFor();
    await screenshot(page, 'console-usage');
    await page.context().close();

    const phone = await operatorPage(VIEWPORTS.phone);
    await phone.waitForURL('**/console');
    await phone.getByRole('row').filter({ hasText: id }).waitFor();
    expect(await horizontalOverflow(phone)).toBeLessThanOrEqual(0);
    await screenshot(phone, 'console-tenants');
    await phone.getByRole('link', { name: 'Busy Co' }).click();
    await phone.getByRole('heading', { name: 'Busy Co', level: 1 }).waitFor();
    expect(await horizontalOverflow(phone)).toBeLessThanOrEqual(0);
    await screenshot(phone, 'console-tenant');
    await phone.getByRole('link', { name: 'Queues' }).click();
    await phone.getByRole('heading', { name: 'Queues', level: 1 }).waitFor();
    await phone.locator('table, .empty').first().waitFor();
    expect(await horizontalOverflow(phone)).toBeLessThanOrEqual(0);
    await screenshot(phone, 'console-queues');
    await phone.context().close();
  });

  it('keyboard users reach the main content and navigation', async () => {
    const page = await operatorPage(VIEWPORTS.desktop);
    await page.waitForURL('**/console');
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Silopool');
    // Every focusable control shows a visible focus ring (outline), for keyboard users.
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement as Element).outlineStyle,
    );
    expect(outline).not.toBe('none');
    await page.context().close();
  });

  it('the placement advisor recommends isolating a regulated tenant, and one click starts the move', async () => {
    const id = newTenantId('regulated');
    await server.createTenant(id, {
      config: { placementPolicy: { mode: 'advise', requiresIsolation: true } },
    });
    const page = await operatorPage(VIEWPORTS.desktop, '/console/advisor');
    await page.getByRole('heading', { name: 'Placement advisor', level: 1 }).waitFor();
    const row = page.getByTestId(`advice-${id}`);
    await row.waitFor();
    expect(await row.textContent()).toContain('isolated resources');
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'console-advisor');
    await row.getByRole('button', { name: 'Promote to dedicated' }).click();
    await page.waitForURL(`**/console/tenants/${id}`);
    await page.getByText('Move succeeded').waitFor({ timeout: 30_000 });
    await page.context().close();
  });
});

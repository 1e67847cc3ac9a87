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
  unnamedButtons,
  VIEWPORTS,
} from './browser.ts';

/**
 * A job's story in the browser: the operator's job list across tenants (filters, an action, the link to a
 * job) and job page (timeline, log, spans), and the tenant's own job page with its timeline; at desktop and
 * phone width, with no sideways scroll and every control named.
 */
describe.skipIf(!hasChromium)(`job stories in Chromium${skipReason}`, { timeout: 90_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  const ran = newTenantId('story');
  const waiting = newTenantId('wait');
  let ranJob: string;
  let userToken: string;

  const submit = async (apiKey: string) => {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  beforeAll(async () => {
    ({ server, browser } = await startWebSession());
    const { apiKey } = await server.createTenant(ran);
    ranJob = await submit(apiKey);
    expect((await waitForJob(server, apiKey, ranJob)).status).toBe('succeeded');
    userToken = await server.mintToken({ tenants: [ran], user: 'ula@example.com' });
  }, 60_000);

  afterAll(() => stopWebSession(server, browser));

  async function pageAt(
    viewport: { width: number; height: number },
    token: string,
    next: string,
  ): Promise<Page> {
    const page = await (await browser.newContext({ viewport })).newPage();
    await page.goto(`${server.url}/login?next=${encodeURIComponent(next)}#token=${token}`);
    return page;
  }

  const checkLayout = async (page: Page) => {
    expect(await unlabelledControls(page)).toEqual([]);
    expect(await unnamedButtons(page)).toEqual([]);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
  };

  for (const [name, viewport] of Object.entries(VIEWPORTS)) {
    it(`operators filter every tenant's jobs, cancel a queued one and read a job's story (${name})`, async () => {
      // A tenant that may run nothing: its job stays queued until an operator acts.
      const tenant = `${waiting}-${name}`;
      const { apiKey } = await server.createTenant(tenant, { config: { limits: { maxRunningJobs: 0 } } });
      const queued = await submit(apiKey);

      const page = await pageAt(viewport, server.operatorToken, '/console/jobs');
      await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
      await page.getByLabel('Tenant').selectOption(tenant);
      const row = page.getByRole('row').filter({ hasText: queued.slice(0, 12) });
      await row.waitFor();
      // Filtered to the one tenant: the other tenant's job goes from the list.
      await page.getByRole('link', { name: `Story of job ${ranJob}` }).waitFor({ state: 'detached' });
      await checkLayout(page);
      await screenshot(page, `console-jobs-${name}`);

      await page.getByRole('button', { name: `Cancel job ${queued}` }).click();
      await page.getByRole('status').filter({ hasText: 'it is cancelled now' }).waitFor();
      const after = await server.api(`/v1/jobs/${queued}`, { token: apiKey });
      expect(((await after.json()) as { status: string }).status).toBe('cancelled');

      await page.getByLabel('Tenant').selectOption(ran);
      await page.getByLabel('Status').selectOption('succeeded');
      await page.getByRole('link', { name: `Story of job ${ranJob}` }).click();
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      const timeline = page.locator('ol.timeline');
      for (const step of [
        'Submitted',
        'Queued',
        'Claimed by a function',
        'Rendering the workbook',
        'Succeeded',
      ]) {
        await timeline.getByText(step, { exact: true }).waitFor();
      }
      await timeline.getByText('lane shared_finance', { exact: false }).first().waitFor();
      await page.getByRole('cell', { name: 'job.deliver' }).waitFor();
      // The job store's writes, timed as events of the delivery, are rows under it.
      await page.getByRole('cell', { name: '↳ jobstore.update (succeeded)' }).waitFor();
      await checkLayout(page);
      await screenshot(page, `console-job-story-${name}`);
    });

    it(`the tenant's user sees the job's timeline and log on its page (${name})`, async () => {
      const page = await pageAt(viewport, userToken, `/t/${ran}/jobs/${ranJob}`);
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      const timeline = page.locator('ol.timeline');
      for (const step of ['Submitted', 'Admitted (limits checked)', 'Running the model', 'Workbook stored']) {
        await timeline.getByText(step, { exact: true }).waitFor();
      }
      await page.getByRole('heading', { name: 'Log' }).waitFor();
      await page.getByText('job succeeded').waitFor();
      await checkLayout(page);
      await screenshot(page, `portal-job-timeline-${name}`);
    });
  }
});

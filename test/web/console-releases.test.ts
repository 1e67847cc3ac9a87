import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fundsModel } from '../../src/models/funds/index.ts';
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
      await page.getByRole('cell', { name: `finance 1.2.0, funds ${fundsModel.version}` }).waitFor();
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

    // The API and the CLI took `minJobs` and `maxObserveSec`; the console sent neither, so every upgrade
    // started there needed one job per tenant within 4 × the watch, whatever the operator wanted.
    it('starts an upgrade with the evidence asked for, and refuses a bound below the watch', async () => {
      const id = newTenantId('web');
      await server.createTenant(id, { placement: 'dedicated' });
      publishRelease(server.dataDir, 'r6-evidence', {
        models: { finance: { version: '1.6.0', body: "version: '1.6.0'" } },
      });
      const page = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent('/console/releases')}#token=${server.operatorToken}`,
      );
      await page.getByRole('heading', { name: 'Releases', level: 1 }).waitFor();
      expect(await unlabelledControls(page)).toEqual([]);
      const maxObserve = page.getByLabel('Longest seconds a wave is watched waiting for those jobs');
      await page.getByLabel('Seconds each wave is watched').fill('60');
      await maxObserve.fill('10');
      await page.getByRole('button', { name: 'Roll out r6-evidence' }).click();
      await page
        .getByText(/maxObserveSec must be at least observeSec \(60 s\)/)
        .first()
        .waitFor();
      await page.getByLabel('Seconds each wave is watched').fill('0');
      await page.getByLabel('Jobs each tenant must run on the release while watched').fill('0');
      await maxObserve.fill('');
      await page.getByRole('button', { name: 'Roll out r6-evidence' }).click();
      const card = page.locator('.operation', { hasText: 'Upgrade to r6-evidence' });
      await card.locator('.badge-succeeded').first().waitFor({ timeout: 60_000 });
      expect(await card.textContent()).toContain('waves watched 0 s, no jobs needed');
      expect(await card.textContent()).toContain('1 tenant on r6-evidence, healthy');
      const rollouts = (await (
        await server.api('/v1/admin/rollouts', { token: server.operatorToken })
      ).json()) as { items: { release: string; minJobs: number; maxObserveSec: number }[] };
      expect(rollouts.items.find((r) => r.release === 'r6-evidence')).toMatchObject({
        minJobs: 0,
        maxObserveSec: 0,
      });
    });

    // `silopool release abort` and POST /v1/admin/rollouts/{id}/abort existed; the console showed a running
    // upgrade with no way to stop it.
    it('aborts a running upgrade from its card: the wave is rolled back and the release not made current', async () => {
      const id = newTenantId('web');
      await server.createTenant(id, { placement: 'dedicated' });
      const before = (await tenantRecord(server, id)).release;
      publishRelease(server.dataDir, 'r4-slow', {
        models: { finance: { version: '1.4.0', body: "version: '1.4.0'" } },
      });
      const page = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent('/console/releases')}#token=${server.operatorToken}`,
      );
      await page.getByRole('heading', { name: 'Releases', level: 1 }).waitFor();
      await page.getByLabel('Seconds each wave is watched').fill('3600');
      await page.getByRole('button', { name: 'Roll out r4-slow' }).click();
      await page.getByText(/watching 1 tenant on r4-slow/).waitFor({ timeout: 30_000 });
      const onRelease = async () =>
        (
          (await (
            await server.api('/v1/admin/releases/r4-slow', { token: server.operatorToken })
          ).json()) as { tenants: unknown[] }
        ).tenants.length;
      expect(await onRelease()).toBe(1);
      const prompts: string[] = [];
      page.on('dialog', (dialog) => {
        prompts.push(dialog.message());
        void dialog.accept();
      });
      await page.getByRole('button', { name: 'Abort upgrade to r4-slow' }).click();
      const card = page.locator('.operation', { hasText: 'Upgrade to r4-slow' });
      await card.locator('.badge-failed').first().waitFor({ timeout: 30_000 });
      expect(await card.getByRole('alert').textContent()).toContain('aborted in the console');
      expect(prompts).toEqual(['Abort the upgrade to r4-slow? Its wave in progress is rolled back.']);
      expect(await page.getByRole('button', { name: 'Abort upgrade to r4-slow' }).count()).toBe(0);
      expect((await tenantRecord(server, id)).release).toBe(before);
      expect(await onRelease()).toBe(0);
      const releases = (await (
        await server.api('/v1/admin/releases', { token: server.operatorToken })
      ).json()) as { current: string };
      expect(releases.current).not.toBe('r4-slow');
    });

    // While the current release pointer was damaged the list answered 503 and the page showed only that
    // problem, though a rollout is what repairs it (the CLI could, the console could not).
    it('with a damaged release pointer: shows the releases and rolls one out, which repairs it', async () => {
      publishRelease(server.dataDir, 'r5-fix', {
        models: { finance: { version: '1.5.0', body: "version: '1.5.0'" } },
      });
      writeFileSync(join(server.dataDir, 'releases', 'current.json'), '{"id": 5}');
      const page = await (await browser.newContext({ viewport: VIEWPORTS.desktop })).newPage();
      await page.goto(
        `${server.url}/login?next=${encodeURIComponent('/console/releases')}#token=${server.operatorToken}`,
      );
      await page.getByRole('heading', { name: 'Releases', level: 1 }).waitFor();
      await page.getByText(/No release is current: The current release pointer .* is damaged/).waitFor();
      await page.getByLabel('Seconds each wave is watched').fill('0');
      await page.getByRole('button', { name: 'Roll out r5-fix' }).click();
      const card = page.locator('.operation', { hasText: 'Upgrade to r5-fix' });
      await card.locator('.badge-succeeded').first().waitFor({ timeout: 60_000 });
      await page.getByText(/No release is current/).waitFor({ state: 'detached', timeout: 10_000 });
      const releases = (await (
        await server.api('/v1/admin/releases', { token: server.operatorToken })
      ).json()) as { current: string };
      expect(releases.current).toBe('r5-fix');
    });
  },
);

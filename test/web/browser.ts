import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
/** Appended to the suite name when it is skipped, so the report says why. */
export const skipReason = hasChromium
  ? ''
  : ` (SKIPPED: ${CHROMIUM_PATH} not found; install it with apt-get install -y chromium)`;

export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * What every browser suite starts with: the web app built (ensureWebBuilt), a test server (with `env`)
 * and Chromium, started together. `stopWebSession` closes both, whichever started.
 */
export async function startWebSession(
  env?: Record<string, string>,
): Promise<{ server: TestServer; browser: Browser }> {
  ensureWebBuilt();
  const [server, browser] = await Promise.all([startTestServer(env ? { env } : {}), launchChromium()]);
  return { server, browser };
}

export async function stopWebSession(server?: TestServer, browser?: Browser): Promise<void> {
  await browser?.close();
  await server?.stop();
}

/** A new tenant (random id from `prefix`, display `name`) and a token for its `user`. */
export async function tenantWithUser(
  server: TestServer,
  prefix: string,
  name: string,
  user: string,
): Promise<{ tenantId: string; token: string }> {
  const tenantId = newTenantId(prefix);
  await server.createTenant(tenantId, { name });
  return { tenantId, token: await server.mintToken({ tenants: [tenantId], user }) };
}

/** Saves a full-page screenshot as `test-results/screenshots/<name>-<viewport>.png`. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const size = page.viewportSize();
  const label = size && size.width <= VIEWPORTS.phone.width ? 'phone' : 'desktop';
  const path = join(SCREENSHOT_DIR, `${name}-${label}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const BUILD_IF_STALE =
  'if [ ! -f web/dist/index.html ] || [ -n "$(find web/src src/client web/index.html web/vite.config.ts ' +
  '-newer web/dist/index.html -print -quit)" ]; then "$NODE" node_modules/vite/bin/vite.js build --config web/vite.config.ts; fi';

/**
 * The server serves web/dist; `npm install` builds it, but a checkout with edited sources would
 * test a stale app. Rebuild when a source is newer than the build, under a lock because test
 * files run in parallel and the build empties the output folder.
 */
export function ensureWebBuilt(): void {
  execFileSync('flock', ['/tmp/silopool-web-build.lock', 'sh', '-c', BUILD_IF_STALE], {
    cwd: process.cwd(),
    env: { ...process.env, NODE: process.execPath },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Labels every form control must have: the a11y rule the whole app follows. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const missing: string[] = [];
    for (const el of Array.from(document.querySelectorAll('input, select, textarea'))) {
      const control = el as HTMLInputElement;
      if (control.type === 'hidden') continue;
      const named =
        (control.labels?.length ?? 0) > 0 ||
        control.getAttribute('aria-label') ||
        control.getAttribute('aria-labelledby');
      if (!named) missing.push(control.id || control.name || control.outerHTML.slice(0, 80));
    }
    return missing;
  });
}

/** How far the page is wider than the screen; above 0 means the user must scroll sideways. */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** Buttons (and links styled as buttons) a screen reader would announce without a name, by their HTML. */
export function unnamedButtons(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('button, [role="button"]'))
      .filter((b) => {
        const labelledBy = b.getAttribute('aria-labelledby');
        const name =
          b.getAttribute('aria-label') ??
          (labelledBy ? document.getElementById(labelledBy)?.textContent : undefined) ??
          b.textContent ??
          b.getAttribute('title');
        return !name?.trim();
      })
      .map((b) => b.outerHTML.slice(0, 120)),
  );
}

/**
 * Table cells of several words that wrap one word per line (as many lines as words): unreadable on a phone.
 * Lines are the cell's text height over its line height.
 */
export function wordPerLineCells(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('td, th'))
      .filter((cell) => {
        const words = (cell.textContent ?? '').trim().split(/\s+/).filter(Boolean).length;
        if (words < 3) return false;
        const style = getComputedStyle(cell);
        const lineHeight = Number.parseFloat(style.lineHeight) || Number.parseFloat(style.fontSize) * 1.5;
        const range = document.createRange();
        range.selectNodeContents(cell);
        const lines = Math.round(range.getBoundingClientRect().height / lineHeight);
        return lines >= words;
      })
      .map((cell) => (cell.textContent ?? '').slice(0, 80)),
  );
}

/**
 * How much taller the page is because of visually hidden content (`.sr-only`, such as charts' tables):
 * the page's height, less its height with that content removed. Hidden content should add nothing.
 */
export function heightOfHiddenContent(page: Page): Promise<number> {
  return page.evaluate(() => {
    const full = document.documentElement.scrollHeight;
    const hidden = Array.from(document.querySelectorAll<HTMLElement>('.sr-only'));
    const before = hidden.map((el) => el.style.display);
    for (const el of hidden) el.style.display = 'none';
    const without = document.documentElement.scrollHeight;
    hidden.forEach((el, i) => {
      el.style.display = before[i] ?? '';
    });
    return full - without;
  });
}

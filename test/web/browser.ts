import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

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

/** Buttons (and links styled as buttons) a screen reader would announce without a name. */
export async function emptyNamedButtons(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('button, [role="button"]'))
      .filter((el) => {
        const labelledBy = el.getAttribute('aria-labelledby');
        const byId = labelledBy ? document.getElementById(labelledBy)?.textContent?.trim() : '';
        return !(
          el.getAttribute('aria-label')?.trim() ||
          el.textContent?.trim() ||
          byId ||
          el.getAttribute('title')
        );
      })
      .map((el) => el.outerHTML.slice(0, 80)),
  );
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedApp } from '../support/embedded-app.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

const openPlatform = tempPlatforms('web-root');

/** The API as the server builds it, serving the web app from `webRoot`. */
async function appServing(webRoot: (dir: string) => string) {
  const { platform, dir } = openPlatform();
  return (await embeddedApp(platform, dir, { webRoot: webRoot(dir) })).app;
}

// `npm start` prints the operator login link `/login#token=…`; without a build of the web app (an install
// with --ignore-scripts, a checkout whose build failed) the link answered "Route GET /login was not found".
describe('the web app pages when the app is not built', () => {
  it('answer a problem that says how to build it; API routes answer as before', async () => {
    const app = await appServing((dir) => join(dir, 'no-web-dist'));
    for (const page of ['/', '/login', '/console/tenants']) {
      const res = await app.inject({ method: 'GET', url: page });
      expect(res.statusCode, page).toBe(404);
      expect(res.json(), page).toMatchObject({ code: 'web_app_not_built' });
      expect(res.json().detail).toContain('npm run build:web');
    }
    const api = await app.inject({ method: 'GET', url: '/v1/nowhere' });
    expect(api.json()).toMatchObject({ code: 'not_found' });
    await app.close();
  });

  it('serve the app where it is built', async () => {
    const app = await appServing((dir) => {
      mkdirSync(join(dir, 'web'));
      writeFileSync(join(dir, 'web', 'index.html'), '<!doctype html><title>Silopool</title>');
      return join(dir, 'web');
    });
    const res = await app.inject({ method: 'GET', url: '/login' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>Silopool</title>');
    await app.close();
  });
});

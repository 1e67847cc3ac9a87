import { join } from 'node:path';
import { buildApp } from '../../src/api/app.ts';
import { createAuthenticator } from '../../src/api/auth/authenticator.ts';
import { loadEmbeddedIssuer } from '../../src/api/auth/issuer.ts';
import type { AppDeps } from '../../src/api/deps.ts';
import type { EmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createJobEvents } from '../../src/runtime/job-events.ts';

/**
 * The API as the server builds it over an embedded platform in `dir` (its issuer's key in `dir/keys`), with
 * `extra` deps; also returns the issuer, to mint tokens.
 */
export async function embeddedApp(platform: EmbeddedPlatform, dir: string, extra: Partial<AppDeps> = {}) {
  const issuer = await loadEmbeddedIssuer(join(dir, 'keys', 'jwt.jwk.json'));
  const app = await buildApp({
    directory: platform.directory,
    queue: platform.queue,
    stores: platform.stores,
    events: createJobEvents(),
    issuer,
    authenticator: createAuthenticator({
      directory: platform.directory,
      embeddedPublicJwk: issuer.publicJwk,
    }),
    authConfig: { mode: 'embedded' },
    logger: false,
    ...extra,
  });
  return { app, issuer };
}

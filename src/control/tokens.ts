import { ValidationError } from '../core/errors.ts';
import { parseTenantId } from '../core/ids.ts';
import type { Role } from '../core/principal.ts';
import { chooseLifetime, type TokenLifetimes } from '../core/token-lifetime.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { EmbeddedIssuer } from '../ports/token-issuer.ts';

export interface MintRequest {
  tenants: string[];
  user: string;
  roles?: Role[];
  /** Like `'15m'` or `'12h'`; the configured default when absent, never beyond the maximum. */
  expiresIn?: string;
}

/**
 * Mints a token from the embedded issuer, bound to the current incarnation of each tenant it grants: once
 * a tenant is offboarded, a new tenant under the same id does not honour it. A tenant that does not exist
 * yet is bound to none, so the token never grants it. Throws ValidationError naming `{pathPrefix}/expiresIn`
 * or `{pathPrefix}/tenants/{i}`.
 */
export async function mintUserToken(
  deps: { directory: TenantDirectory; issuer: EmbeddedIssuer; lifetimes: TokenLifetimes },
  request: MintRequest,
  pathPrefix = '/body',
): Promise<{ token: string; expiresAt: string }> {
  const lifetimeSec = chooseLifetime(request.expiresIn, deps.lifetimes, `${pathPrefix}/expiresIn`);
  // A scrape token is least privilege only alone: with another role or a tenant it would grant those too.
  const roles = request.roles ?? ['user'];
  if (roles.includes('metrics') && (roles.some((r) => r !== 'metrics') || request.tenants.length > 0)) {
    throw new ValidationError([
      {
        path: `${pathPrefix}/${roles.length > 1 ? 'roles' : 'tenants'}`,
        message:
          'the metrics role is for a scrape token of its own: no other role and no tenant (mint those separately)',
      },
    ]);
  }
  const tenants = request.tenants.map((t, i) => parseTenantId(t, `${pathPrefix}/tenants/${i}`));
  const incarnations: Record<string, string> = {};
  for (const id of tenants) {
    const incarnation = (await deps.directory.get(id))?.incarnation;
    if (incarnation) incarnations[id] = incarnation;
  }
  const token = await deps.issuer.mint({
    subject: request.user,
    tenants,
    roles,
    lifetimeSec,
    incarnations,
  });
  return { token, expiresAt: new Date(Date.now() + lifetimeSec * 1000).toISOString() };
}

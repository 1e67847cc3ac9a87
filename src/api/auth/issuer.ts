import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../core/file-modes.ts';
import {
  EMBEDDED_AUDIENCE,
  EMBEDDED_ISSUER,
  type EmbeddedIssuer,
  INCARNATIONS_CLAIM,
} from '../../ports/token-issuer.ts';

const ALG = 'ES256';

/** Loads the signing key from `keyPath`, generating it (mode 0600) on first use. */
export async function loadEmbeddedIssuer(keyPath: string): Promise<EmbeddedIssuer> {
  let privateJwk: JWK;
  try {
    privateJwk = JSON.parse(await readFile(keyPath, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), alg: ALG, kid: `k${Date.now().toString(36)}` };
    await mkdir(dirname(keyPath), { recursive: true, mode: PRIVATE_DIR_MODE });
    // `wx` fails if another process created the key meanwhile; then we read theirs.
    try {
      await writeFile(keyPath, JSON.stringify(privateJwk), { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
      privateJwk = JSON.parse(await readFile(keyPath, 'utf8')) as JWK;
    }
    await chmod(keyPath, PRIVATE_FILE_MODE);
  }
  const privateKey = await importJWK(privateJwk, ALG);
  const { d: _d, ...publicJwk } = privateJwk;
  return {
    publicJwk,
    mint: (claims) =>
      new SignJWT({
        tenants: claims.tenants,
        roles: claims.roles,
        ...(claims.incarnations ? { [INCARNATIONS_CLAIM]: claims.incarnations } : {}),
      })
        .setProtectedHeader({ alg: ALG, kid: privateJwk.kid ?? 'embedded' })
        .setSubject(claims.subject)
        .setIssuer(EMBEDDED_ISSUER)
        .setAudience(EMBEDDED_AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + claims.lifetimeSec)
        .sign(privateKey),
  };
}

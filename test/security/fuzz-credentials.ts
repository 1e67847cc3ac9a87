import { generateKeyPair, SignJWT } from 'jose';

/** The credential classes every route is called with. */
export const CREDENTIALS = [
  'none',
  'garbage bearer',
  'forged JWT',
  'tenant A API key',
  'tenant A user JWT',
  'tenant B user JWT',
  'operator',
] as const;
export type CredentialClass = (typeof CREDENTIALS)[number];

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * `Bearer` headers with JWTs that look right but must open nothing: unsigned (`alg: none`), signed by
 * another key or with HMAC, a real token's signature on other claims, a hostile `kid`/`jku`, expired.
 * `realToken` is a genuine token (its header and signature are reused); `expired` one past its `exp`.
 */
export async function forgedTokens(
  realToken: string,
  expired: string,
  a: string,
  b: string,
): Promise<string[]> {
  const [realHeader, , realSignature] = realToken.split('.') as [string, string, string];
  const claims = {
    iss: 'urn:silopool:embedded',
    aud: 'silopool',
    sub: 'mallory',
    tenants: [a, b],
    roles: ['operator', 'user'],
    exp: Math.floor(Date.now() / 1000) + 3600,
  };
  const { privateKey } = await generateKeyPair('ES256');
  const kid = (JSON.parse(Buffer.from(realHeader, 'base64url').toString()) as { kid?: string }).kid;
  const otherKey = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', ...(kid ? { kid } : {}) })
    .sign(privateKey);
  const hmac = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode('secret'));
  return [
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`,
    `${b64({ alg: 'none' })}.${b64(claims)}.x`,
    `${b64({ alg: 'NONE', typ: 'JWT' })}.${b64(claims)}.`,
    otherKey,
    hmac,
    `${realHeader}.${b64(claims)}.${realSignature}`,
    `${b64({ alg: 'ES256', kid: '../../../../etc/passwd', jku: 'https://evil.invalid/jwks' })}.${b64(claims)}.${realSignature}`,
    `${b64({ alg: 'ES256', crit: ['exp'] })}.${b64({ ...claims, iss: 'https://evil.invalid' })}.${realSignature}`,
    expired,
  ].map((t) => `Bearer ${t}`);
}

/** Authorization headers that are no credential: empty, malformed, a right-looking key with a wrong secret. */
export function garbageAuthorizations(a: string, key: string): string[] {
  return [
    'Bearer',
    'Bearer ',
    'Bearer x',
    `Bearer ${'a'.repeat(5000)}`,
    'Bearer a.b.c',
    'Bearer eyJ.eyJ.x',
    `Bearer ${b64({ alg: 'ES256' })}.!!!.x`,
    `Bearer sp_${a}_${'A'.repeat(43)}`,
    `Bearer sp_${a}_`,
    `Bearer ${key}x`,
    `Bearer ${key.toUpperCase()}`,
    `Bearer sp___proto___${'A'.repeat(43)}`,
    `Bearer sp_constructor_${'A'.repeat(43)}`,
    'Basic YWRtaW46YWRtaW4=',
    'Token abc',
    `Bearer ${key} ${key}`,
    'Bearer \u00ff\u00fe',
  ];
}

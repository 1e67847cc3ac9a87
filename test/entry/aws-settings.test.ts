import { describe, expect, it } from 'vitest';
import { regionPolicyFromEnv } from '../../src/core/region.ts';
import { apiOidcFromEnv, publicUrlFromEnv, readConfig } from '../../src/entry/config.ts';
import { startOtlpReceiver } from '../support/otlp-receiver.ts';

// A setting set but empty (`NAME=` in a .env or compose file, a CDK or Lambda value left blank) is unset on
// every backend, and AWS reads each setting the embedded server also has through the same reader. The AWS
// entries read theirs with `??`, which takes '' as set: an empty JWKS URL or claim name for the API's IdP,
// an empty account (no ExpectedBucketOwner on the object stores' S3 requests, bucket names without it), an
// empty Region, an empty traces endpoint that turned the general one off.
const AWS = {
  SILOPOOL_TABLE: 'jobs',
  SILOPOOL_BUCKET: 'objects',
  SILOPOOL_TENANTS_TABLE: 'tenants',
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
};

describe('AWS settings read as the embedded server reads its own', () => {
  it('an empty SILOPOOL_ACCOUNT is the default account, and one that is no account id is refused', async () => {
    const { createAwsPorts } = await import('../../src/entry/aws-wiring.ts');
    const empty = createAwsPorts({ ...AWS, SILOPOOL_ACCOUNT: '' });
    expect(empty.account).toBe('000000000000');
    await empty.close();
    expect(() => createAwsPorts({ ...AWS, SILOPOOL_ACCOUNT: '1234' })).toThrow('SILOPOOL_ACCOUNT');
  });

  it("an empty SILOPOOL_REGION is unset: the platform's Region is AWS_REGION (and local on embedded)", async () => {
    const { createAwsPorts } = await import('../../src/entry/aws-wiring.ts');
    const ports = createAwsPorts({ ...AWS, SILOPOOL_REGION: '', SILOPOOL_ACCOUNT: '123456789012' });
    expect(ports.region).toBe('eu-west-1');
    await ports.close();
    expect(regionPolicyFromEnv({ SILOPOOL_REGION: '' }, 'embedded').region).toBe('local');
    expect(regionPolicyFromEnv({ SILOPOOL_REGION: '', AWS_REGION: 'eu-west-1' }, 'aws').region).toBe(
      'eu-west-1',
    );
  });

  it("the API function's IdP: empty settings are their defaults, URLs are checked", () => {
    const base = {
      SILOPOOL_OIDC_ISSUER: 'https://idp.example.com',
      SILOPOOL_OIDC_CLIENT_ID: 'client-1',
    };
    const defaults = apiOidcFromEnv(base);
    expect(defaults.verifier).toEqual({
      issuer: 'https://idp.example.com',
      audience: 'client-1',
      jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
      tenantsClaim: 'custom:tenants',
      rolesClaim: 'cognito:groups',
    });
    expect(defaults.login).toMatchObject({
      authorizationEndpoint: 'https://idp.example.com/oauth2/authorize',
      scope: 'openid email',
    });
    const empty = Object.fromEntries(
      [
        'JWKS_URL',
        'TENANTS_CLAIM',
        'ROLES_CLAIM',
        'MAX_TOKEN_AGE',
        'AUTHORIZATION_ENDPOINT',
        'TOKEN_ENDPOINT',
        'SCOPE',
      ].map((s) => [`SILOPOOL_OIDC_${s}`, '']),
    );
    expect(apiOidcFromEnv({ ...base, ...empty })).toEqual(defaults);
    expect(() => apiOidcFromEnv({ ...base, SILOPOOL_OIDC_CLIENT_ID: '' })).toThrow(
      'Set SILOPOOL_OIDC_CLIENT_ID',
    );
    expect(() => apiOidcFromEnv({ ...base, SILOPOOL_OIDC_ISSUER: '' })).toThrow('Set SILOPOOL_OIDC_ISSUER');
    expect(() => apiOidcFromEnv({ ...base, SILOPOOL_OIDC_JWKS_URL: 'file:///etc/keys' })).toThrow(
      'SILOPOOL_OIDC_JWKS_URL',
    );
    expect(apiOidcFromEnv({ ...base, SILOPOOL_OIDC_MAX_TOKEN_AGE: '2h' }).verifier.maxTokenAgeSec).toBe(7200);
  });

  it("the notification function's PUBLIC_URL is read as the server's: empty unset, checked, no trailing slash", () => {
    expect(publicUrlFromEnv({ PUBLIC_URL: '' })).toBeUndefined();
    expect(publicUrlFromEnv({ PUBLIC_URL: 'https://app.example.com/' })).toBe('https://app.example.com');
    expect(() => publicUrlFromEnv({ PUBLIC_URL: 'https://app.example.com/?x=1' })).toThrow('PUBLIC_URL');
    expect(() => publicUrlFromEnv({ PUBLIC_URL: 'app.example.com' })).toThrow('PUBLIC_URL');
  });

  it('an empty SILOPOOL_BACKEND or LOG_LEVEL is its default, not refused', () => {
    const config = readConfig({ SILOPOOL_BACKEND: '', LOG_LEVEL: '' });
    expect(config.backend).toBe('embedded');
    expect(config.logLevel).toBe('info');
    expect(() => readConfig({ SILOPOOL_BACKEND: 'sqlite' })).toThrow('SILOPOOL_BACKEND');
  });

  it('an empty OTEL_EXPORTER_OTLP_TRACES_ENDPOINT leaves OTEL_EXPORTER_OTLP_ENDPOINT in charge', async () => {
    const { startTracing } = await import('../../src/observability/tracing.ts');
    const { trace } = await import('@opentelemetry/api');
    const receiver = await startOtlpReceiver();
    const tracing = startTracing({
      service: 'settings-test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' },
    });
    try {
      trace.getTracer('settings-test').startSpan('settings.span').end();
      await tracing.flush();
      expect(receiver.bodies.join('')).toContain('settings.span');
    } finally {
      await tracing.shutdown();
      receiver.server.close();
    }
  });
});

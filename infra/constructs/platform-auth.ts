import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { SilopoolInfraConfig } from '../config.ts';

/**
 * The API's JWT authorizer and the environment the API reads to accept the same tokens: the configured
 * OIDC issuer, or a Cognito user pool (MFA required; an `operator` group; tenants in `custom:tenants`)
 * made in the stack's own scope, so its resources keep their logical ids.
 */
export function platformAuthorizer(
  stack: Stack,
  config: SilopoolInfraConfig,
): { authorizer: apigw.IHttpRouteAuthorizer; environment: Record<string, string> } {
  if (config.auth.kind === 'oidc') {
    const { issuer, audience, jwksUrl } = config.auth;
    return {
      authorizer: new HttpJwtAuthorizer('JwtAuthorizer', issuer, { jwtAudience: audience }),
      environment: {
        SILOPOOL_OIDC_ISSUER: issuer,
        SILOPOOL_OIDC_CLIENT_ID: audience[0] ?? '',
        ...(jwksUrl ? { SILOPOOL_OIDC_JWKS_URL: jwksUrl } : {}),
        SILOPOOL_OIDC_TENANTS_CLAIM: 'tenants',
        SILOPOOL_OIDC_ROLES_CLAIM: 'roles',
      },
    };
  }
  const userPool = new cognito.UserPool(stack, 'Users', {
    selfSignUpEnabled: false,
    signInAliases: { email: true },
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    passwordPolicy: {
      minLength: 12,
      requireDigits: true,
      requireLowercase: true,
      requireUppercase: true,
      requireSymbols: true,
    },
    customAttributes: { tenants: new cognito.StringAttribute({ mutable: true, maxLen: 2048 }) },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  new cognito.CfnUserPoolGroup(stack, 'OperatorGroup', {
    userPoolId: userPool.userPoolId,
    groupName: 'operator',
  });
  // Explicit attributes: without writeAttributes a client lets users write every mutable attribute,
  // `custom:tenants` (which tenants a token grants) included. Only operators set it (AdminUpdateUserAttributes,
  // which ignores client settings); roles come from groups, which users cannot join themselves.
  const standard = { email: true, fullname: true };
  const client = userPool.addClient('WebClient', {
    authFlows: { userSrp: true },
    generateSecret: false,
    readAttributes: new cognito.ClientAttributes()
      .withStandardAttributes({ ...standard, emailVerified: true })
      .withCustomAttributes('tenants'),
    writeAttributes: new cognito.ClientAttributes().withStandardAttributes(standard),
    oAuth: {
      flows: { authorizationCodeGrant: true },
      scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
    },
  });
  const issuer = `https://cognito-idp.${stack.region}.amazonaws.com/${userPool.userPoolId}`;
  return {
    authorizer: new HttpUserPoolAuthorizer('UserPoolAuthorizer', userPool, { userPoolClients: [client] }),
    environment: { SILOPOOL_OIDC_ISSUER: issuer, SILOPOOL_OIDC_CLIENT_ID: client.userPoolClientId },
  };
}

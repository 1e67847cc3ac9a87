import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { tenantStackName } from '../src/adapters/aws/naming.ts';
import type { TenantId } from '../src/core/ids.ts';
import { listModels } from '../src/models/registry.ts';
import { APP_CONTEXT, readConfig, type SilopoolInfraConfig } from './config.ts';
import { PlatformStack } from './platform-stack.ts';
import { TenantStack } from './tenant-stack.ts';

/** Builds the whole app: the platform stack and one stack per dedicated tenant, with cdk-nag checks. */
export function buildInfra(app: App, config: SilopoolInfraConfig, env: { account: string; region: string }) {
  const platform = new PlatformStack(app, 'silopool-platform', { env, config });
  const tenants = config.dedicatedTenants.map(
    (tenant) =>
      new TenantStack(app, tenantStackName(tenant.id as TenantId), {
        env,
        tenant,
        models: config.models,
        code: config.code,
      }),
  );
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { platform, tenants };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'));
if (isMain) {
  const app = new App({ context: APP_CONTEXT });
  const config = readConfig(
    app.node.tryGetContext('silopool'),
    listModels().map((m) => m.name),
  );
  buildInfra(app, config, {
    account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111',
    region: process.env.CDK_DEFAULT_REGION ?? 'us-east-1',
  });
  app.synth();
}

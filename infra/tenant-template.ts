import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, DefaultStackSynthesizer, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { APP_CONTEXT } from './config.ts';
import { TenantStack } from './tenant-stack.ts';

const STACK_ID = 'silopool-tenant-template';

export interface TenantTemplateOptions {
  /**
   * CDK's built-in CloudFormation schema validation (cfn-lint in WASM): on for the template the platform
   * publishes; off by default because its first run in a process costs ~2 s (tests instantiating it).
   */
  cloudFormationValidation?: boolean;
}

/**
 * Synthesizes the tenant template, the one the control plane instantiates per dedicated tenant with
 * CloudFormation, in its own app and temp directory, cdk-nag checked; returns the template file's path.
 */
export function synthesizeTenantTemplateFile(models: string[], options: TenantTemplateOptions = {}): string {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'silopool-tenant-template-')),
    // Under `cdk synth` the CLI's environment would make this app synthesize itself again at exit.
    autoSynth: false,
    builtinCloudFormationValidation: options.cloudFormationValidation ?? false,
    context: APP_CONTEXT,
  });
  new TenantStack(app, STACK_ID, {
    template: true,
    models,
    // The control plane passes no BootstrapVersion, and the template references no asset.
    synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
    // No CDKMetadata resource (and its region conditions) in a template instantiated outside the CDK.
    analyticsReporting: false,
    description: 'Silopool dedicated tenant: key, table, bucket, model queues and functions, dashboard',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app.synth().getStackByName(STACK_ID).templateFullPath;
}

/** The tenant template as JSON (see synthesizeTenantTemplateFile). */
export function synthesizeTenantTemplate(models: string[], options: TenantTemplateOptions = {}): object {
  return JSON.parse(readFileSync(synthesizeTenantTemplateFile(models, options), 'utf8')) as object;
}

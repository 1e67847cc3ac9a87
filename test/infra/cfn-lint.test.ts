import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_CONTEXT } from '../../infra/config.ts';
import { PlatformStack } from '../../infra/platform-stack.ts';
import { synthesizeTenantTemplateFile } from '../../infra/tenant-template.ts';
import { ENV, testConfig } from './support.ts';

// cfn-lint (Python, `pip install cfn-lint==1.51.*`) over every template the project deploys: the platform stack
// and the tenant template the control plane instantiates. Ignored rules, each with its reason, are in
// .cfnlintrc.yaml at the repository root (cfn-lint reads it from the working directory).
const ROOT = join(import.meta.dirname, '..', '..');

function cfnLintVersion(): string | undefined {
  try {
    return execFileSync('cfn-lint', ['--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  } catch {
    return undefined;
  }
}
const version = cfnLintVersion();
const MISSING =
  'cfn-lint is not installed: `pip install cfn-lint==1.51.*` (.ci/run installs it when PyPI is reachable)';

interface Finding {
  Rule: { Id: string };
  Message: string;
  Filename: string;
}

function lint(files: string[]): Finding[] {
  const out = spawnSync('cfn-lint', ['--format', 'json', ...files], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (out.error) throw out.error;
  // Exit codes are a bit mask of the severities found (2 error, 4 warning, 8 informational); 1 is a crash.
  if (out.status === 1) throw new Error(`cfn-lint failed: ${out.stderr}`);
  return JSON.parse(out.stdout || '[]') as Finding[];
}

describe.skipIf(!version)(`cfn-lint over the synthesized templates ${version ?? MISSING}`, () => {
  let platform: string;
  let tenant: string;

  beforeAll(() => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-lint-')), context: APP_CONTEXT });
    // With the notification secret: its dynamic references in the functions' environment are linted too.
    const notifications = {
      secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:silopool-notifications-AbCdEf',
    };
    new PlatformStack(app, 'silopool-platform', { env: ENV, config: testConfig({ notifications }) });
    platform = app.synth().getStackByName('silopool-platform').templateFullPath;
    tenant = synthesizeTenantTemplateFile(['finance', 'funds']);
  }, 120_000);

  it('finds nothing in the platform stack and the tenant template but the rules ignored with a reason', () => {
    const findings = lint([platform, tenant]);
    expect(findings.map((f) => `${f.Rule.Id} ${f.Message} (${f.Filename})`)).toEqual([]);
  }, 300_000);

  it('does lint: a misspelled property in the tenant template is an error', () => {
    const template = JSON.parse(readFileSync(tenant, 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const queue = Object.values(template.Resources).find((r) => r.Type === 'AWS::SQS::Queue');
    if (!queue) throw new Error('no queue in the tenant template');
    queue.Properties.VisibilityTimeOut = 30;
    const broken = join(mkdtempSync(join(tmpdir(), 'cfn-lint-')), 'broken.template.json');
    writeFileSync(broken, JSON.stringify(template));
    expect(lint([broken]).map((f) => f.Rule.Id)).toContain('E3002');
  }, 300_000);

  it('lists a reason for every rule it ignores', () => {
    const config = readFileSync(join(ROOT, '.cfnlintrc.yaml'), 'utf8').split('\n');
    const ignored = config.flatMap((line, i) => (/^\s+- [EWI]\d{4}/.test(line) ? [i] : []));
    expect(ignored.length).toBeGreaterThan(0);
    for (const i of ignored) expect(config[i - 1]).toMatch(/^\s+#/);
  });
});

describe('CDK property validation', () => {
  const misspelled = (context?: Record<string, unknown>) => {
    const app = new App({
      outdir: mkdtempSync(join(tmpdir(), 'cdk-validate-')),
      ...(context ? { context } : {}),
    });
    const bucket = new s3.CfnBucket(new Stack(app, 'Misspelled'), 'Bucket', {});
    bucket.addPropertyOverride('BucketNmae', 'silopool-typo');
    return () => app.synth();
  };

  it('fails synthesis on a misspelled property with the app context every Silopool app uses', () => {
    expect(misspelled(APP_CONTEXT)).toThrow(/BucketNmae|F3002|Validat/i);
    // Without the flag CDK only warns: the context is what makes it an error.
    expect(misspelled()).not.toThrow();
  }, 120_000);
});

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SilopoolInfraConfig } from '../../infra/config.ts';
import { synthesizeTenantTemplate } from '../../infra/tenant-template.ts';
import { tenantStackParameters } from '../../src/adapters/aws/tenant-stack.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_FUNCTION_SETTINGS } from '../../src/core/tenant.ts';

export const ENV = { account: '111122223333', region: 'us-east-1' };

/** A tiny prebuilt code asset: template tests check wiring, not bundles (scripts/bundle-lambdas.ts does). */
export function stubCode(): { kind: 'asset'; apiDir: string; modelDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-code-'));
  mkdirSync(join(dir, 'fn'));
  writeFileSync(join(dir, 'fn', 'index.mjs'), 'export const handler = async () => ({});\n');
  return { kind: 'asset', apiDir: join(dir, 'fn'), modelDir: join(dir, 'fn') };
}

export function testConfig(patch: Partial<SilopoolInfraConfig> = {}): SilopoolInfraConfig {
  return {
    models: ['finance', 'funds'],
    auth: { kind: 'cognito' },
    dedicatedTenants: [{ id: 'acme', reservedConcurrency: 2, memoryMb: 1024, timeoutSec: 300 }],
    sharedMaxConcurrency: 50,
    code: stubCode(),
    ...patch,
  };
}

export function validationReport(outdir: string): {
  pluginReports: { pluginName: string; violations: unknown[] }[];
} {
  return JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
}

export interface CfnTemplate {
  Parameters?: Record<string, { Type: string; Default?: string | number; [key: string]: unknown }>;
  Resources: Record<string, CfnResource>;
  [key: string]: unknown;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  [key: string]: unknown;
}

/**
 * The template's resources as CloudFormation would create them with these parameter values (the
 * parameters' defaults if none are given): `Ref`s to parameters and the `Fn::Join`s over them resolved;
 * other intrinsics (pseudo parameters, GetAtt) stay as they are.
 */
export function instantiate(
  template: CfnTemplate,
  values?: Record<string, string>,
): Record<string, CfnResource> {
  const parameters = template.Parameters ?? {};
  const parameterValue = (name: string): string | number | undefined => {
    const parameter = parameters[name];
    const value = values ? values[name] : parameter?.Default;
    if (parameter === undefined || value === undefined) return undefined;
    return parameter.Type === 'Number' ? Number(value) : String(value);
  };
  const resolve = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(resolve);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node);
    const [only] = entries;
    if (entries.length === 1 && only?.[0] === 'Ref' && typeof only[1] === 'string') {
      return parameterValue(only[1]) ?? node;
    }
    if (entries.length === 1 && only?.[0] === 'Fn::Join') {
      const [separator, parts] = only[1] as [string, unknown[]];
      const resolved = parts.map(resolve);
      if (resolved.every((part) => typeof part === 'string' || typeof part === 'number')) {
        return resolved.join(separator);
      }
      // Adjacent resolved parts merge, so a partly resolved string still reads as text.
      const merged: unknown[] = [];
      for (const part of resolved) {
        const last = merged.at(-1);
        if (typeof part === 'string' && typeof last === 'string')
          merged[merged.length - 1] = last + separator + part;
        else merged.push(part);
      }
      return { 'Fn::Join': [separator, merged] };
    }
    return Object.fromEntries(entries.map(([key, value]) => [key, resolve(value)]));
  };
  return resolve(template.Resources) as Record<string, CfnResource>;
}

export function resourcesOfType(resources: Record<string, CfnResource>, type: string): CfnResource[] {
  return Object.values(resources).filter((resource) => resource.Type === type);
}

/**
 * The resources of tenant `globex`'s stack (finance) deployed in `region` for a platform in `ENV.region`,
 * its code copied to `silopool-code-{region}`: a dedicated tenant in a contract Region.
 */
export function contractRegionTenantStack(region: string): Record<string, CfnResource> {
  return instantiate(
    synthesizeTenantTemplate(['finance']) as CfnTemplate,
    tenantStackParameters({
      tenantId: 'globex' as TenantId,
      settings: DEFAULT_FUNCTION_SETTINGS,
      account: ENV.account,
      region,
      platformRegion: ENV.region,
      code: { bucket: `silopool-code-${region}`, key: 'model.zip' },
    }),
  );
}

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SilopoolInfraConfig } from '../../infra/config.ts';

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

import { hash } from 'node:crypto';
import type { Rendering } from '../core/job.ts';
import { canonicalJson } from '../core/request-hash.ts';
import type { Formatting, ModelRules } from '../core/tenant.ts';

const sha256 = (text: string) => hash('sha256', text, 'hex');

/**
 * The record of what a workbook was rendered with (see `Rendering`): everything `ModelDefinition.workbook`
 * reads besides the job's own result, input, id and creation time.
 */
export function renderingOf(
  formatting: Formatting,
  modelVersion: string,
  rules: ModelRules,
  tenantName: string,
): Rendering {
  const { logoPng, ...rest } = formatting;
  return {
    formatting: { ...rest, ...(logoPng === undefined ? {} : { logoPngSha256: sha256(logoPng) }) },
    formattingSha256: sha256(canonicalJson(formatting)),
    modelVersion,
    rules,
    rulesSha256: sha256(canonicalJson(rules)),
    tenantName,
  };
}

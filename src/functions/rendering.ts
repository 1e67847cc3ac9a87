import { hash } from 'node:crypto';
import type { Rendering } from '../core/job.ts';
import { canonicalJson } from '../core/request-hash.ts';
import type { Formatting } from '../core/tenant.ts';

const sha256 = (text: string) => hash('sha256', text, 'hex');

/** The record of what a workbook was rendered with (see `Rendering`). */
export function renderingOf(formatting: Formatting, modelVersion: string): Rendering {
  const { logoPng, ...rest } = formatting;
  return {
    formatting: { ...rest, ...(logoPng === undefined ? {} : { logoPngSha256: sha256(logoPng) }) },
    formattingSha256: sha256(canonicalJson(formatting)),
    modelVersion,
  };
}

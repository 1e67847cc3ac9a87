import { createHash } from 'node:crypto';
import type { Rendering } from '../core/job.ts';
import type { Formatting } from '../core/tenant.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with object keys sorted at every level: the same formatting always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The record of what a workbook was rendered with (see `Rendering`). */
export function renderingOf(formatting: Formatting, modelVersion: string): Rendering {
  const { logoPng, ...rest } = formatting;
  return {
    formatting: { ...rest, ...(logoPng === undefined ? {} : { logoPngSha256: sha256(logoPng) }) },
    formattingSha256: sha256(canonicalJson(formatting)),
    modelVersion,
  };
}

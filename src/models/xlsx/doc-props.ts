import type { DocumentProperties } from './cells.ts';
import { escapeXml } from './xml.ts';

const HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const PROPS = 'http://schemas.openxmlformats.org/officeDocument/2006';

/** The job a workbook was rendered for (`Provenance` in models/types.ts), as far as properties need it. */
interface RenderedFor {
  tenantName: string;
  jobId: string;
  tenantId: string;
  model: string;
  modelVersion: string;
  created: string;
}

/** A model workbook's document properties: its title, and the job it was rendered for when known. */
export function workbookProperties(title: string, provenance?: RenderedFor): DocumentProperties {
  if (!provenance) return { title };
  const { tenantName, jobId, tenantId, model, modelVersion, created } = provenance;
  return { title, company: tenantName, jobId, tenantId, model, modelVersion, created };
}

/** The package parts that carry document properties, with their content types and package relationships. */
export function docPropsParts(p: DocumentProperties): {
  files: Record<string, string>;
  overrides: string[];
  rels: string[];
} {
  const custom: [string, string | undefined][] = [
    ['Silopool job id', p.jobId],
    ['Silopool tenant id', p.tenantId],
    ['Silopool model', p.model],
    ['Silopool model version', p.modelVersion],
  ];
  const present = custom.filter((c): c is [string, string] => c[1] !== undefined);
  const files: Record<string, string> = {
    'docProps/core.xml': coreXml(p),
    'docProps/app.xml': `${HEAD}<Properties xmlns="${PROPS}/extended-properties" xmlns:vt="${PROPS}/docPropsVTypes"><Application>Silopool</Application>${
      p.company ? `<Company>${escapeXml(p.company)}</Company>` : ''
    }</Properties>`,
  };
  const overrides = [
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>',
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>',
  ];
  const rels = [
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>',
    `<Relationship Id="rId3" Type="${PROPS}/relationships/extended-properties" Target="docProps/app.xml"/>`,
  ];
  if (present.length) {
    // Custom properties are what Excel shows under File > Properties > Custom, and programs read by name.
    files['docProps/custom.xml'] =
      `${HEAD}<Properties xmlns="${PROPS}/custom-properties" xmlns:vt="${PROPS}/docPropsVTypes">${present
        .map(
          ([name, value], i) =>
            `<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="${i + 2}" name="${escapeXml(name)}"><vt:lpwstr>${escapeXml(value)}</vt:lpwstr></property>`,
        )
        .join('')}</Properties>`;
    overrides.push(
      '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>',
    );
    rels.push(
      `<Relationship Id="rId4" Type="${PROPS}/relationships/custom-properties" Target="docProps/custom.xml"/>`,
    );
  }
  return { files, overrides, rels };
}

function coreXml(p: DocumentProperties): string {
  const el = (tag: string, value: string | undefined) =>
    value === undefined ? '' : `<${tag}>${escapeXml(value)}</${tag}>`;
  // W3CDTF without milliseconds, as Office writes it.
  const created = p.created ? new Date(p.created).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
  return `${HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${el(
    'dc:title',
    p.title,
  )}${el('dc:subject', p.model && (p.modelVersion ? `${p.model} ${p.modelVersion}` : p.model))}${el(
    'dc:creator',
    'Silopool',
  )}${el('dc:identifier', p.jobId)}${el('cp:version', p.modelVersion)}${
    created
      ? `<dcterms:created xsi:type="dcterms:W3CDTF">${created}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">${created}</dcterms:modified>`
      : ''
  }</cp:coreProperties>`;
}

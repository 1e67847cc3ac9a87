import { strFromU8, unzipSync } from 'fflate';

/** A cell as read back from a written xlsx: the formula (if any) and the cached value. */
export interface ReadCell {
  row: number;
  col: number;
  formula?: string;
  value: number | string | boolean | undefined;
  /** The cell's style index (`s`), 0 when absent. */
  style: number;
}

export interface ReadSheet {
  name: string;
  cells: ReadCell[];
  xml: string;
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function parseRef(ref: string): { row: number; col: number } {
  const m = /^([A-Z]+)(\d+)$/.exec(ref)!;
  let col = 0;
  for (const ch of m[1]!) col = col * 26 + (ch.charCodeAt(0) - 64);
  return { row: Number(m[2]) - 1, col: col - 1 };
}

/** Reads sheets back from the zip with plain XML parsing: independent of the writer's own code. */
export function readXlsx(bytes: Uint8Array): { sheets: ReadSheet[]; files: Record<string, Uint8Array> } {
  const files = unzipSync(bytes);
  const workbook = strFromU8(files['xl/workbook.xml']!);
  const rels = strFromU8(files['xl/_rels/workbook.xml.rels']!);
  const sheets: ReadSheet[] = [];
  for (const m of workbook.matchAll(/<sheet name="([^"]*)" sheetId="\d+" r:id="([^"]+)"\/>/g)) {
    const target = new RegExp(`Id="${m[2]}"[^>]*Target="([^"]+)"`).exec(rels)![1]!;
    const xml = strFromU8(files[`xl/${target}`]!);
    const cells: ReadCell[] = [];
    for (const c of xml.matchAll(/<c r="([A-Z]+\d+)"([^>]*?)(?:\/>|>(.*?)<\/c>)/g)) {
      const { row, col } = parseRef(c[1]!);
      const attrs = c[2] ?? '';
      const body = c[3] ?? '';
      const type = /t="(\w+)"/.exec(attrs)?.[1];
      const f = /<f>(.*?)<\/f>/.exec(body)?.[1];
      const v = /<v>(.*?)<\/v>/.exec(body)?.[1];
      const inline = /<t[^>]*>(.*?)<\/t>/.exec(body)?.[1];
      let value: ReadCell['value'];
      if (type === 'inlineStr') value = unescapeXml(inline ?? '');
      else if (type === 'str') value = v === undefined ? undefined : unescapeXml(v);
      else if (type === 'b') value = v === '1';
      else value = v === undefined ? undefined : Number(v);
      const style = Number(/\bs="(\d+)"/.exec(attrs)?.[1] ?? 0);
      cells.push({ row, col, ...(f === undefined ? {} : { formula: unescapeXml(f) }), value, style });
    }
    sheets.push({ name: unescapeXml(m[1]!), cells, xml });
  }
  return { sheets, files };
}

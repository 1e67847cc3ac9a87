import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeXlsx } from '../../src/models/xlsx/writer.ts';
import { MAX_CELL_TEXT } from '../../src/models/xlsx/xml.ts';

// Issue 13, kind 10, with LibreOffice as the independent reader: random Unicode text (lone surrogates,
// controls, noncharacters, `_xHHHH_` patterns) written by our writer, opened by LibreOffice Calc and saved
// again by it as xlsx (its own reader and writer), then read from LibreOffice's file (shared strings).
const SOFFICE = '/usr/bin/soffice';
const work = mkdtempSync(join(tmpdir(), 'silopool-lo-text-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What a spreadsheet should show: XML-forbidden characters dropped, cut on a whole character. */
function expected(s: string): string {
  let out = '';
  for (const ch of Array.from(s)) {
    const c = ch.codePointAt(0)!;
    const lone = ch.length === 1 && c >= 0xd800 && c <= 0xdfff;
    if (lone || !(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c !== 0xfffe && c !== 0xffff))) continue;
    if (out.length + ch.length > MAX_CELL_TEXT) break;
    out += ch;
  }
  return out;
}

const texts = fc.sample(
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 6 }),
        fc.string({ unit: 'binary', maxLength: 6 }),
        fc.constantFrom('_x000D_', '_x005F_', '_xD83D_', '_X000D_', '\t', '&<>"\'', '\u{1F4A5}', 'ä'),
      ),
      { minLength: 1, maxLength: 5 },
    )
    .map((parts) => parts.join(''))
    // A cell holding only spaces or nothing reads back as empty in any spreadsheet: not this test's point.
    .filter((s) => expected(s).trim().length > 0),
  { seed: 13, numRuns: 60 },
);

describe.skipIf(!existsSync(SOFFICE))(
  'SpreadsheetML text read back by LibreOffice (needs /usr/bin/soffice)',
  () => {
    it('every string comes back as the text the model meant (CR aside: Calc stores a line break as LF)', async () => {
      const input = join(work, 'text.xlsx');
      writeFileSync(input, writeXlsx({ sheets: [{ name: 'Text', rows: texts.map((v) => [{ v }]) }] }, {}));
      execFileSync(
        SOFFICE,
        [
          `-env:UserInstallation=file://${join(work, 'profile')}`,
          '--headless',
          '--convert-to',
          'xlsx:Calc MS Excel 2007 XML',
          '--outdir',
          join(work, 'out'),
          input,
        ],
        { stdio: 'pipe', timeout: 120_000 },
      );
      const book = new ExcelJS.Workbook();
      await book.xlsx.load(readFileSync(join(work, 'out', 'text.xlsx')) as unknown as ArrayBuffer);
      const sheet = book.worksheets[0]!;
      const read = texts.map((_, i) => {
        const v = sheet.getRow(i + 1).getCell(1).value;
        const text =
          v === null || v === undefined
            ? ''
            : typeof v === 'object' && 'richText' in v
              ? (v.richText as { text: string }[]).map((r) => r.text).join('')
              : String(v);
        // LibreOffice saves shared strings, whose `_xHHHH_` escapes exceljs decodes itself.
        return text;
      });
      const norm = (s: string) => s.replace(/\r\n?/g, '\n');
      expect(read.map(norm)).toEqual(texts.map((s) => norm(expected(s))));
    }, 180_000);
  },
);
